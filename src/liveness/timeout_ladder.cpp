// The timeout-ladder rules (see timeout_ladder.h): one finding per pair of
// neighbouring HTTP hops, and one per middlebox between them that would forget
// an idle flow before either side closes it.
#include "tether/liveness/timeout_ladder.h"

#include <algorithm>

namespace tether::liveness {
namespace {

bool finite(Millis v) { return v != kNoLimit; }
// Order with kNoLimit as infinity.
bool longer(Millis a, Millis b) { return finite(b) && (!finite(a) || a > b); }
Millis shorter(Millis a, Millis b) { return longer(a, b) ? b : a; }

// How long the reusing side keeps reusing an idle connection to `server`.
Millis reuseLimit(const HopTimeouts& client, const HopTimeouts& server, bool* byHint) {
  *byHint = false;
  if (!finite(client.hintMargin) || !finite(server.hint)) return client.pool;
  *byHint = true;
  return shorter(std::max<Millis>(0, server.hint - client.hintMargin), client.hintCap);
}

LadderFinding pairFinding(const std::vector<Hop>& hops, std::size_t a, std::size_t b) {
  const HopTimeouts& ta = hops[a].t;
  const HopTimeouts& tb = hops[b].t;
  LadderFinding f;
  f.from = a;
  f.to = b;
  f.closedAfter = tb.keepalive;
  if (ta.pool == 0 || tb.keepalive == 0) {
    f.verdict = LadderVerdict::kNoReuse;
    f.reuseUntil = 0;
    return f;
  }
  f.reuseUntil = reuseLimit(ta, tb, &f.byHint);
  if (!finite(tb.keepalive)) return f;  // never closed idle: nothing to race with
  if (!longer(tb.keepalive, f.reuseUntil)) {
    f.verdict = LadderVerdict::kRace;
  } else if (tb.keepalive - f.reuseUntil < kLadderMargin) {
    f.verdict = LadderVerdict::kTight;
  } else {
    return f;
  }
  if (finite(f.reuseUntil)) f.suggestKeepalive = f.reuseUntil + kLadderMargin;
  f.suggestPool = std::max<Millis>(0, tb.keepalive - kLadderMargin);
  return f;
}

// A middlebox between the pair forgets the flow if it can stay idle longer than
// the middlebox's timeout and no counted TCP keepalive probe comes sooner.
bool forgets(const Hop& m, const LadderFinding& pair, const std::vector<Hop>& hops) {
  if (!finite(m.t.idle) || pair.verdict == LadderVerdict::kNoReuse) return false;
  Millis idleMax = shorter(pair.reuseUntil, pair.closedAfter);
  if (!longer(idleMax, m.t.idle)) return false;
  Millis probe = shorter(hops[pair.from].t.tcpKeepalive, hops[pair.to].t.tcpKeepalive);
  return !(m.t.countsKeepalive && finite(probe) && probe < m.t.idle);
}

bool isProblem(LadderVerdict v) {
  return v == LadderVerdict::kRace || v == LadderVerdict::kSilentDrop;
}

}  // namespace

const char* ladderVerdictName(LadderVerdict v) noexcept {
  switch (v) {
    case LadderVerdict::kOk: return "ok";
    case LadderVerdict::kTight: return "tight";
    case LadderVerdict::kRace: return "race";
    case LadderVerdict::kNoReuse: return "no_reuse";
    case LadderVerdict::kSilentDrop: return "silent_drop";
  }
  return "?";
}

LadderReport checkLadder(std::vector<Hop> hops) {
  LadderReport r;
  std::vector<std::size_t> http;
  for (std::size_t i = 0; i < hops.size(); ++i)
    if (hops[i].role != HopRole::kMiddlebox) http.push_back(i);
  for (std::size_t k = 0; k + 1 < http.size(); ++k) {
    LadderFinding pair = pairFinding(hops, http[k], http[k + 1]);
    r.findings.push_back(pair);
    for (std::size_t m = http[k] + 1; m < http[k + 1]; ++m) {
      if (!forgets(hops[m], pair, hops)) continue;
      LadderFinding drop = pair;
      drop.verdict = LadderVerdict::kSilentDrop;
      drop.middlebox = m;
      drop.suggestKeepalive = drop.suggestPool = kNoLimit;
      drop.suggestTcpKeepalive = std::max<Millis>(1'000, hops[m].t.idle / 2 / 1000 * 1000);
      r.findings.push_back(drop);
    }
  }
  for (const LadderFinding& f : r.findings) r.problems += isProblem(f.verdict) ? 1 : 0;
  r.hops = std::move(hops);
  return r;
}

}  // namespace tether::liveness

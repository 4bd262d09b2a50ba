// Hierarchical timing wheel: 7 levels of 64 slots, 1 ms per level-0 slot.
//
// Placement invariant: an entry with deadline at > now_ lives at level
//   L = min(msb(at ^ now_) / 6, 6),  slot j = (at >> 6L) & 63,
// i.e. at the highest 6-bit digit where its deadline differs from now_. Below the top level this
// means at and now_ share every digit above L and j > digit L of now_, so:
//  - the earliest deadline at level L is in its lowest occupied slot above now_'s digit, found
//    with one mask and one count-trailing-zeros on the level's occupancy bitmap;
//  - every slot at level L starts after every slot at a lower level, so the lowest non-empty
//    level holds the earliest deadlines;
//  - when now_ reaches the start of that slot, only that one slot breaks the invariant: its
//    entries are re-inserted at lower levels (or fired when due), all others stay put.
// Deadlines are clamped to now_ + kRange - 1, so a deadline can lie in the next 2^42 ms epoch,
// where it differs from now_ above bit 41. Those entries wrap around the top level, into a slot
// at or below now_'s top digit; such a slot is reached by going round the top level once.
#include "tether/core/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace tether::core {
namespace {

using U64 = std::uint64_t;

static_assert(sizeof(void*) != 8 || sizeof(TimerEntry) == 40, "TimerEntry grew");

// Digit arithmetic works on the two's-complement image of a time: digits and the placement
// invariant only need bit patterns, and wrapping past INT64_MAX never happens (deadlines are
// clamped), so negative times work too.
constexpr U64 bits(Millis t) { return static_cast<U64>(t); }

constexpr int shiftOf(int level) { return level * TimerWheel::kBitsPerLevel; }

int digitOf(Millis t, int level) {
  return static_cast<int>((bits(t) >> shiftOf(level)) & (TimerWheel::kSlots - 1));
}

// Level of a deadline at != now: its highest digit differing from now, capped at the top level.
int levelFor(Millis at, Millis now) {
  const int msb = 63 - std::countl_zero(bits(at) ^ bits(now));
  return std::min(msb / TimerWheel::kBitsPerLevel, TimerWheel::kLevels - 1);
}

// Start of the earliest occupied slot of `level` (bitmap `occupied`, non-zero) after `now`.
Millis slotStart(Millis now, int level, U64 occupied) {
  const int shift = shiftOf(level);
  const U64 span = U64{1} << (shift + TimerWheel::kBitsPerLevel);  // time one level turn covers
  U64 base = bits(now) & ~(span - 1);
  U64 later = occupied & (~U64{1} << digitOf(now, level));  // slots above now's digit
  if (later == 0) {  // only at the top level: entries in the next epoch, one turn ahead
    base += span;
    later = occupied;
  }
  return static_cast<Millis>(base | (static_cast<U64>(std::countr_zero(later)) << shift));
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "TimerWheel::validate: %s\n", what);
    std::abort();
  }
}

// Clears a flag on scope exit, also when a callback throws.
class FlagGuard {
 public:
  explicit FlagGuard(bool& flag) noexcept : flag_(flag) { flag_ = true; }
  FlagGuard(const FlagGuard&) = delete;
  FlagGuard& operator=(const FlagGuard&) = delete;
  ~FlagGuard() { flag_ = false; }

 private:
  bool& flag_;
};

}  // namespace

TimerEntry::~TimerEntry() { assert(!linked() && "TimerEntry destroyed while linked"); }

TimerWheel::TimerWheel(Millis now) noexcept : now_(now) {
  for (auto& level : slots_) {
    for (Slot& slot : level) initList(slot.head);
  }
  initList(due_.head);
  initList(firing_.head);
}

TimerWheel::~TimerWheel() {
  for (auto& level : slots_) {
    for (Slot& slot : level) detachAll(slot.head);
  }
  detachAll(due_.head);
  detachAll(firing_.head);
}

void TimerWheel::initList(TimerEntry& head) noexcept { head.prev_ = head.next_ = &head; }

void TimerWheel::pushBack(TimerEntry& head, TimerEntry& e) noexcept {
  e.prev_ = head.prev_;
  e.next_ = &head;
  head.prev_->next_ = &e;
  head.prev_ = &e;
}

void TimerWheel::remove(TimerEntry& e) noexcept {
  e.prev_->next_ = e.next_;
  e.next_->prev_ = e.prev_;
  e.prev_ = e.next_ = nullptr;  // linked() == false
}

// Moves all of `from` to the end of `to`, keeping order.
void TimerWheel::spliceBack(TimerEntry& to, TimerEntry& from) noexcept {
  if (isEmpty(from)) return;
  from.next_->prev_ = to.prev_;
  to.prev_->next_ = from.next_;
  from.prev_->next_ = &to;
  to.prev_ = from.prev_;
  initList(from);
}

// Unlinks every entry without firing it, and the sentinel too: ~TimerEntry asserts !linked().
void TimerWheel::detachAll(TimerEntry& head) noexcept {
  TimerEntry* e = head.next_;
  while (e != &head) {
    TimerEntry* next = e->next_;
    e->prev_ = e->next_ = nullptr;
    e = next;
  }
  head.prev_ = head.next_ = nullptr;
}

void TimerWheel::link(TimerEntry& e, Millis at) noexcept {
  assert(e.cb_ != nullptr && "TimerEntry needs a callback");
  unlink(e);
  const Millis latest = now_ > kNever - (kRange - 1) ? kNever : now_ + (kRange - 1);
  // A past deadline is stored as now_: due_ then stays sorted (now_ never decreases), which is
  // what keeps firing in non-decreasing deadline order without sorting anything.
  e.at_ = std::clamp(at, now_, latest);
  ++size_;
  if (e.at_ == now_) {
    e.level_ = kOffWheel;
    pushBack(due_.head, e);
  } else {
    insert(e);
  }
}

void TimerWheel::unlink(TimerEntry& e) noexcept {
  if (!e.linked()) return;
  remove(e);
  --size_;
  if (e.level_ == kOffWheel) return;  // due_ / firing_: no occupancy bit
  const int slot = digitOf(e.at_, e.level_);
  if (isEmpty(slots_[e.level_][slot].head)) occupied_[e.level_] &= ~(U64{1} << slot);
}

void TimerWheel::insert(TimerEntry& e) noexcept {
  const int level = levelFor(e.at_, now_);
  const int slot = digitOf(e.at_, level);
  e.level_ = static_cast<std::uint8_t>(level);
  pushBack(slots_[level][slot].head, e);
  occupied_[level] |= U64{1} << slot;
}

std::size_t TimerWheel::advance(Millis to, std::size_t limit) {
  assert(!advancing_ && "TimerWheel::advance() is not re-entrant");
  const FlagGuard guard(advancing_);
  to = std::max(to, now_);
  // What was due fires first. Entries that callbacks link as due land in due_ again and wait for
  // the next advance(), so a timer re-linking itself for "now" cannot loop forever. firing_ may
  // still hold entries left by a callback that threw, or by the last advance()'s limit; they
  // are older, so they go first.
  spliceBack(firing_.head, due_.head);
  std::size_t fired = fireSome(limit);
  Millis start = 0;
  int level = 0;
  // Jump from slot start to slot start: empty time costs nothing.
  while (fired < limit && nextSlot(&start, &level) && start <= to) {
    now_ = start;
    cascade(level, digitOf(start, level));
    fired += fireSome(limit - fired);
  }
  // At the limit now_ stays at the slot being fired: what is left in firing_ and the slots up
  // to `to` fire at the next advance(), and nextWakeup() says so.
  behind_ = fired == limit;
  if (!behind_) now_ = to;  // safe: nothing starts in (now_, to], every entry keeps its place
  return fired;
}

// now_ has just reached the start of this slot: entries due now fire, the rest move down.
void TimerWheel::cascade(int level, int slot) noexcept {
  TimerEntry& head = slots_[level][slot].head;
  occupied_[level] &= ~(U64{1} << slot);
  while (!isEmpty(head)) {
    TimerEntry& e = *head.next_;
    remove(e);
    if (e.at_ == now_) {
      e.level_ = kOffWheel;
      pushBack(firing_.head, e);
    } else {
      insert(e);
      assert(e.level_ < level && "cascade must move entries down");
    }
  }
}

std::size_t TimerWheel::fireSome(std::size_t limit) {
  std::size_t fired = 0;
  while (fired < limit && !isEmpty(firing_.head)) {
    TimerEntry& e = *firing_.head.next_;
    remove(e);  // before the callback, which may re-link e or destroy its owner
    --size_;
    ++fired;
    e.cb_(e);
  }
  return fired;
}

// The lowest non-empty level holds the earliest slot (see the file comment).
bool TimerWheel::nextSlot(Millis* start, int* level) const noexcept {
  for (int l = 0; l < kLevels; ++l) {
    if (occupied_[l] == 0) continue;
    *start = slotStart(now_, l, occupied_[l]);
    *level = l;
    return true;
  }
  return false;
}

Millis TimerWheel::nextWakeup() const noexcept {
  if (behind_ || !isEmpty(due_.head) || !isEmpty(firing_.head)) return now_;
  Millis start = kNever;
  int level = 0;
  return nextSlot(&start, &level) ? start : kNever;
}

void TimerWheel::validate() const {
  std::size_t count = checkList(due_.head, -1, -1) + checkList(firing_.head, -1, -1);
  for (int l = 0; l < kLevels; ++l) {
    for (int s = 0; s < kSlots; ++s) {
      const TimerEntry& head = slots_[l][s].head;
      check(((occupied_[l] >> s) & 1) == (isEmpty(head) ? 0U : 1U), "occupancy bit is wrong");
      count += checkList(head, l, s);
    }
  }
  check(count == size_, "size() does not match the linked entries");
}

// Walks one list (level < 0: due_ or firing_); returns its length.
std::size_t TimerWheel::checkList(const TimerEntry& head, int level, int slot) const {
  std::size_t n = 0;
  for (const TimerEntry* e = &head;;) {
    check(e->next_ != nullptr && e->next_->prev_ == e, "broken prev/next links");
    e = e->next_;
    if (e == &head) return n;
    check(++n <= size_, "list longer than size() (cycle?)");
    check(e->cb_ != nullptr, "entry without callback");
    if (level < 0) {
      check(e->level_ == kOffWheel && e->at_ <= now_, "due/firing entry not due");
      continue;
    }
    check(e->at_ > now_ && bits(e->at_) - bits(now_) < bits(kRange), "deadline out of range");
    check(e->level_ == level && levelFor(e->at_, now_) == level, "entry at the wrong level");
    check(digitOf(e->at_, level) == slot, "entry in the wrong slot");
  }
}

}  // namespace tether::core

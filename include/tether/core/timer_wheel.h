// Hierarchical timing wheel with intrusive entries (h2o / Varghese-Lauck style).
//
// Contract:
//  - Pure: the wheel never reads a clock. Callers pass `now` (milliseconds on a
//    monotonic time base of their choosing) to advance().
//  - Not thread-safe: one wheel per event loop, used only from that loop's thread.
//  - link()/unlink() are O(1) and never allocate; an entry is embedded in its owner.
//  - advance(now) fires every entry whose deadline is <= now, in non-decreasing
//    deadline order (ties in unspecified order). An entry is unlinked before its
//    callback runs, so the callback may re-link it, link or unlink any other entry,
//    or destroy the owner of a *different* entry only after unlinking it.
//    Entries a callback links for a time <= now() fire on the *next* advance()
//    (so a timer re-arming itself for "now" cannot spin). Inside a callback,
//    now() is the deadline being fired. advance() must not be called re-entrantly.
//  - advance(now, limit) fires at most `limit` entries, the earliest first; the rest stay
//    due and fire first at the next advance() (nextWakeup() returns now() meanwhile). An event
//    loop uses it so that thousands of deadlines falling due at once go out in slices, with
//    I/O handled between them.
//  - An entry must be unlinked (or fired) before it is destroyed.
//  - Deadlines further than kRange ms after the wheel's current time are clamped to
//    now + kRange - 1; owners that need longer deadlines re-check when fired.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tether/core/time.h"

namespace tether::core {

class TimerWheel;

/// Intrusive timer entry: the wheel's view of a timer. Owners do not embed it
/// directly; they hold a `Timer<Owner, &Owner::method>` (below). 40 bytes.
class TimerEntry {
 public:
  using Callback = void (*)(TimerEntry& entry);

  explicit TimerEntry(Callback cb) noexcept : cb_(cb) {}
  TimerEntry(const TimerEntry&) = delete;
  TimerEntry& operator=(const TimerEntry&) = delete;
  ~TimerEntry();  // asserts !linked() in debug builds

  bool linked() const noexcept { return next_ != nullptr; }
  /// Deadline this entry is linked for (valid while linked).
  Millis deadline() const noexcept { return at_; }

 private:
  friend class TimerWheel;
  TimerEntry* prev_ = nullptr;
  TimerEntry* next_ = nullptr;
  Millis at_ = 0;
  Callback cb_;
  std::uint8_t level_ = 0;  // wheel level, or a marker for the due/firing lists
};

/// The one way an object holds a timer: an entry that knows its owner and the
/// member function to run when it fires. Type-checked (no casts from an entry
/// to its owner, no offsetof); costs one pointer beside the entry. An owner
/// with several timers holds several, each naming its own method. Declare it
/// after the method, e.g.
///   void onIdleTimeout();
///   core::Timer<Conn, &Conn::onIdleTimeout> idleTimer_{this};
template <class Owner, void (Owner::*Method)()>
class Timer final : public TimerEntry {
 public:
  explicit Timer(Owner* owner) noexcept : TimerEntry(&Timer::fire), owner_(owner) {}

 private:
  static void fire(TimerEntry& entry) {
    Owner* owner = static_cast<Timer&>(entry).owner_;
    (owner->*Method)();
  }
  Owner* owner_;
};

class TimerWheel {
 public:
  static constexpr int kBitsPerLevel = 6;
  static constexpr int kSlots = 1 << kBitsPerLevel;  // 64
  static constexpr int kLevels = 7;                  // 2^42 ms ~ 139 years
  static constexpr Millis kRange = Millis{1} << (kBitsPerLevel * kLevels);
  static constexpr Millis kNever = INT64_MAX;

  /// `now` is the wheel's initial time; advance() never goes back from it.
  explicit TimerWheel(Millis now) noexcept;
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;
  ~TimerWheel();  // entries still linked are detached (their owners must not touch them)

  /// Links `e` to fire at `at`; re-links if already linked. A deadline <= now()
  /// fires on the next advance() and is recorded as now() (see deadline()).
  void link(TimerEntry& e, Millis at) noexcept;
  /// Unlinks `e`; no-op when not linked.
  void unlink(TimerEntry& e) noexcept;

  static constexpr std::size_t kNoLimit = SIZE_MAX;
  /// Fires the entries with deadline <= now, at most `limit` of them (see contract).
  /// Returns how many fired. A `now` earlier than now() is treated as now().
  std::size_t advance(Millis now, std::size_t limit = kNoLimit);

  /// The wheel's current time: the largest `now` passed to advance() (or the ctor); behind
  /// it while entries left by a limit wait (the deadline of the last slot fired).
  Millis now() const noexcept { return now_; }
  /// A lower bound for the next deadline: advance() before this time fires nothing.
  /// Returns now() when something is due, kNever when the wheel is empty. Exact for
  /// deadlines in the same 64 ms-aligned block as now(); otherwise the start of the
  /// slot holding the earliest deadline, which only costs the caller an early
  /// wake-up that fires nothing.
  Millis nextWakeup() const noexcept;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// Checks internal invariants (slot placement, bitmaps, counts); aborts on
  /// corruption. For tests and debug builds; O(entries).
  void validate() const;

 private:
  // Every list is circular and doubly linked around a sentinel entry, so an entry unlinks itself
  // in O(1) without knowing its list. An entry with deadline at > now_ sits at level
  // L = min(msb(at ^ now_) / kBitsPerLevel, kLevels - 1), slot (at >> L * kBitsPerLevel) % kSlots;
  // see timer_wheel.cpp for why that is enough to find the next deadline quickly.
  struct Slot {
    TimerEntry head{nullptr};  // sentinel: an empty list points to itself
  };

  // TimerEntry::level_ of entries in due_ or firing_: lists without an occupancy bit.
  static constexpr std::uint8_t kOffWheel = 0xFF;

  // List primitives; static members because TimerEntry befriends only TimerWheel.
  static void initList(TimerEntry& head) noexcept;
  static bool isEmpty(const TimerEntry& head) noexcept { return head.next_ == &head; }
  static void pushBack(TimerEntry& head, TimerEntry& e) noexcept;
  static void remove(TimerEntry& e) noexcept;
  static void spliceBack(TimerEntry& to, TimerEntry& from) noexcept;
  static void detachAll(TimerEntry& head) noexcept;

  void insert(TimerEntry& e) noexcept;         // into its wheel slot; requires e.at_ > now_
  void cascade(int level, int slot) noexcept;  // re-sorts a slot that now_ just entered
  std::size_t fireSome(std::size_t limit);     // fires firing_'s first `limit` entries
  bool nextSlot(Millis* start, int* level) const noexcept;
  std::size_t checkList(const TimerEntry& head, int level, int slot) const;

  Slot slots_[kLevels][kSlots];
  std::uint64_t occupied_[kLevels] = {};  // bit j of occupied_[L] <=> slots_[L][j] non-empty
  Slot due_;     // linked with a deadline <= now_; fired by the next advance()
  Slot firing_;  // being fired by advance(); callbacks may still unlink entries from it
  Millis now_;
  std::size_t size_ = 0;    // entries in slots_, due_ and firing_
  bool behind_ = false;     // the last advance() stopped at its limit, maybe before its `now`
  bool advancing_ = false;  // catches re-entrant advance() calls in debug builds
};

}  // namespace tether::core

#pragma once

#include <array>
#include <cstdint>

namespace sb::term {

// The kitty keyboard protocol's progressive enhancement flags that attach
// encodes keys by. Only "disambiguate escape codes" (1) is implemented;
// the others (report event types 2, alternate keys 4, all keys as escape
// codes 8, associated text 16) are never set, so that an application that
// asks for them and queries what it got (`CSI ? u`) knows to do without.
inline constexpr int kKittyDisambiguate = 1;
inline constexpr int kKittySupportedFlags = kKittyDisambiguate;

// What the application asked for with one of the kitty keyboard sequences.
struct KittyKeyboardRequest {
    enum class Kind {
        Push,  // CSI > flags u
        Pop,   // CSI < count u
        Set,   // CSI = flags ; mode u
        Query, // CSI ? u
    };
    Kind kind = Kind::Query;
    // Push and Set: the flags; Pop: how many entries (at least 1).
    int value = 0;
    // Set: 1 replaces the flags, 2 adds them, 3 takes them away.
    int mode = 1;

    bool operator==(const KittyKeyboardRequest&) const = default;
};

// The flags stack of one screen, as the kitty keyboard protocol keeps it:
// push and pop, with the oldest entry dropped when a push finds it full, and
// the flags in force being those on top (none when it is empty). A set with
// an empty stack puts a first entry on it, as kitty does.
class KittyKeyboardStack {
public:
    static constexpr std::size_t kDepth = 8;

    void push(int flags);
    void pop(int count);
    void set(int flags, int mode);
    void clear() { depth_ = 0; }
    int flags() const { return depth_ == 0 ? 0 : entries_[depth_ - 1]; }

private:
    std::array<std::uint8_t, kDepth> entries_{};
    std::size_t depth_ = 0;
};

// The kitty keyboard state of a terminal: a stack for the main screen and
// one for the alternate screen, independent of each other, so that a
// program on the alternate screen can change and restore the flags without
// knowing those of the shell below it.
class KittyKeyboard {
public:
    // Applies a push, pop or set to the stack of the screen in use (a query
    // changes nothing).
    void apply(const KittyKeyboardRequest& request, bool alternate_screen);
    // The alternate screen starts with an empty stack each time a program
    // enters it, like its cells.
    void enter_alternate_screen() { stacks_[1].clear(); }
    void reset() {
        stacks_[0].clear();
        stacks_[1].clear();
    }
    int flags(bool alternate_screen) const { return stacks_[alternate_screen ? 1 : 0].flags(); }

private:
    std::array<KittyKeyboardStack, 2> stacks_;
};

} // namespace sb::term

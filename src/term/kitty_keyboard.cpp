#include "term/kitty_keyboard.hpp"

#include <algorithm>

namespace sb::term {

namespace {

std::uint8_t supported(int flags) {
    return static_cast<std::uint8_t>(flags & kKittySupportedFlags);
}

} // namespace

void KittyKeyboardStack::push(int flags) {
    if (depth_ == kDepth) {
        std::copy(entries_.begin() + 1, entries_.end(), entries_.begin());
        --depth_;
    }
    entries_[depth_++] = supported(flags);
}

void KittyKeyboardStack::pop(int count) {
    depth_ -= std::min(depth_, static_cast<std::size_t>(std::max(count, 1)));
}

void KittyKeyboardStack::set(int flags, int mode) {
    if (depth_ == 0) {
        entries_[depth_++] = 0;
    }
    std::uint8_t& top = entries_[depth_ - 1];
    switch (mode) {
    case 1:
        top = supported(flags);
        break;
    case 2:
        top = static_cast<std::uint8_t>(top | supported(flags));
        break;
    case 3:
        top = static_cast<std::uint8_t>(top & ~supported(flags));
        break;
    default:
        break;
    }
}

void KittyKeyboard::apply(const KittyKeyboardRequest& request, bool alternate_screen) {
    KittyKeyboardStack& stack = stacks_[alternate_screen ? 1 : 0];
    switch (request.kind) {
    case KittyKeyboardRequest::Kind::Push:
        stack.push(request.value);
        break;
    case KittyKeyboardRequest::Kind::Pop:
        stack.pop(request.value);
        break;
    case KittyKeyboardRequest::Kind::Set:
        stack.set(request.value, request.mode);
        break;
    case KittyKeyboardRequest::Kind::Query:
        break;
    }
}

} // namespace sb::term

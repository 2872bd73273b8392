#include "term/input_filter.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "term/unicode.hpp"

namespace sb::term {

namespace {

constexpr unsigned char kEsc = 0x1b;
constexpr unsigned char kBel = 0x07;
constexpr unsigned char kCan = 0x18;
constexpr unsigned char kSub = 0x1a;
constexpr unsigned char kDel = 0x7f;

bool printable_ascii(unsigned char byte) {
    return byte >= 0x20 && byte < kDel;
}

// What InputFilter::Sink::text() takes: printable ASCII and the line ends.
bool line_text(unsigned char byte) {
    return printable_ascii(byte) || byte == '\r' || byte == '\n';
}

// Whether the eight bytes at `at` are all printable ASCII, looked at in one
// 64-bit word: no byte below 0x20 and none above 0x7e. Each test may flag a
// byte wrongly only next to one it flags rightly, so together they are exact.
bool eight_printable(const char* at) {
    constexpr std::uint64_t kOnes = 0x0101010101010101;
    constexpr std::uint64_t kHighs = 0x8080808080808080;
    std::uint64_t word = 0;
    std::memcpy(&word, at, sizeof word);
    const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHighs;
    const std::uint64_t above_tilde = ((word + kOnes * (0x7f - 0x7e)) | word) & kHighs;
    return (below_space | above_tilde) == 0;
}

bool intermediate(unsigned char byte) {
    return byte >= 0x20 && byte <= 0x2f;
}

// The parts of a collected CSI: ESC [ leader params intermediates final.
struct Csi {
    std::string_view leader;
    std::string_view params;
    std::string_view intermediates;
};

Csi split_csi(std::string_view sequence) {
    sequence.remove_prefix(2); // ESC [
    sequence.remove_suffix(1); // final byte
    std::size_t at = 0;
    while (at < sequence.size() && sequence[at] >= 0x3c && sequence[at] <= 0x3f) {
        ++at;
    }
    const std::size_t params_begin = at;
    while (at < sequence.size() && !intermediate(static_cast<unsigned char>(sequence[at]))) {
        ++at;
    }
    return {sequence.substr(0, params_begin), sequence.substr(params_begin, at - params_begin),
            sequence.substr(at)};
}

// The numeric parameters of a CSI, or nothing when one has sub-parameters,
// which no mode sequence uses. Missing ones are skipped.
std::vector<int> mode_numbers(std::string_view params, bool& valid) {
    std::vector<int> numbers;
    valid = params.find(':') == std::string_view::npos;
    while (valid && !params.empty()) {
        const auto end = std::min(params.find(';'), params.size());
        const auto field = params.substr(0, end);
        int value = 0;
        const auto [ptr, error] = std::from_chars(field.data(), field.data() + field.size(), value);
        if (!field.empty() && error == std::errc() && ptr == field.data() + field.size()) {
            numbers.push_back(value);
        }
        params.remove_prefix(std::min(end + 1, params.size()));
    }
    return numbers;
}

// The first parameter of a CSI as libvterm reads it (digits up to the first
// separator, sub-parameter flags dropped), or -1 when it is missing or too
// large to matter.
long first_parameter(std::string_view params) {
    long value = -1;
    for (const char c : params) {
        if (c < '0' || c > '9') {
            break;
        }
        value = value < 0 ? 0 : value;
        if (value > 100000) {
            return -1;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

// The parameters of a CSI, -1 for a missing one, or nothing when one has
// sub-parameters or is not a number.
std::optional<std::vector<long>> csi_arguments(std::string_view params) {
    std::vector<long> arguments;
    if (params.empty()) {
        return arguments;
    }
    while (true) {
        const auto end = std::min(params.find(';'), params.size());
        const auto field = params.substr(0, end);
        long value = -1;
        if (!field.empty()) {
            const auto [ptr, error] =
                std::from_chars(field.data(), field.data() + field.size(), value);
            if (error != std::errc() || ptr != field.data() + field.size()) {
                return std::nullopt;
            }
        }
        arguments.push_back(value);
        if (end == params.size()) {
            return arguments;
        }
        params.remove_prefix(end + 1);
    }
}

// Whether the parameter that ends `sequence` (a CSI up to a separator or to
// its final byte) may be SGR 2: it is a 2 on its own (leading zeros aside,
// as libvterm reads numbers), and not the 2 of a 24-bit colour that opens
// the sequence (ESC [ 38;2, 48;2 or 58;2, as Claude Code writes its colours;
// further in, 38 may be a colour's number). The sequence starts with ESC [,
// so every parameter has a byte before it.
bool last_may_be_faint(std::string_view sequence) {
    if (sequence.empty() || sequence.back() != '2') {
        return false;
    }
    std::size_t start = sequence.size() - 1; // where the parameter starts
    while (start > 0 && sequence[start - 1] == '0') {
        --start;
    }
    const std::string_view before = sequence.substr(0, start);
    if (before.empty() || (before.back() != ';' && before.back() != ':' && before.back() != '[')) {
        return false;
    }
    const bool colour = before.size() == 5 && before[3] == '8' &&
                        (before[2] == '3' || before[2] == '4' || before[2] == '5');
    return !colour;
}

// Whether a parameter of the SGR `sequence` (ESC [ and its parameters) may
// be SGR 2. Most SGR has no 2 at the end of a parameter, and is not read
// further.
bool may_set_faint(std::string_view sequence) {
    for (auto at = sequence.find('2', 2); at != std::string_view::npos;
         at = sequence.find('2', at + 1)) {
        const std::size_t end = at + 1;
        if ((end == sequence.size() || sequence[end] == ';' || sequence[end] == ':') &&
            last_may_be_faint(sequence.substr(0, end))) {
            return true;
        }
    }
    return false;
}

// Whether text is faint after SGR `params` (`faint` before it), read as
// libvterm reads SGR: parameters in order, a missing one or 0 resets, a
// colour's own numbers (38, 48 and 58, with 5 and an index or 2 and red,
// green and blue) and a parameter's sub-parameters (after `:`) are skipped.
// 2 sets faint (SGR 2, which libvterm 0.1.4 does not know) and 22 clears it.
// Parameters that are not numbers leave it as it was: not an SGR.
bool faint_after_sgr(std::string_view params, bool faint) {
    const bool before = faint;
    std::size_t at = 0;
    long value = -1;
    bool more = false; // sub-parameters follow (`:`)
    bool valid = true;
    // The next parameter, -1 when missing; false after the last.
    const auto next = [&] {
        if (at > params.size()) {
            return false;
        }
        value = -1;
        while (at < params.size() && params[at] >= '0' && params[at] <= '9') {
            value = std::min<long>(std::max<long>(value, 0) * 10 + (params[at] - '0'), 100000);
            ++at;
        }
        if (at < params.size() && params[at] != ';' && params[at] != ':') {
            valid = false;
            return false;
        }
        more = at < params.size() && params[at] == ':';
        ++at;
        return true;
    };
    while (next()) {
        if (value <= 0) {
            faint = false;
        } else if (value == 2) {
            faint = true;
        } else if (value == 22) {
            faint = false;
        } else if (value == 38 || value == 48 || value == 58) {
            if (!next()) {
                break;
            }
            const long palette = value;
            for (int numbers = palette == 2 ? 3 : (palette == 5 ? 1 : 0); numbers > 0 && next();
                 --numbers) {
            }
        }
        while (more && next()) {
        }
    }
    return valid ? faint : before;
}

// Where a colour (38 or 48) that ends SGR `params` with nothing after it
// starts, or npos. libvterm 0.1.4 reads such a colour's palette and index
// from past the parameters it parsed: what an earlier CSI left in its
// argument array, or beyond the array after 16 parameters.
std::size_t bare_colour_at_end(std::string_view params) {
    // Most SGR do not end in 38 or 48 at all (leading zeros aside, as
    // libvterm reads them): only those are walked.
    std::size_t begin = params.size();
    while (begin > 0 && params[begin - 1] >= '0' && params[begin - 1] <= '9') {
        --begin;
    }
    std::string_view last = params.substr(begin);
    while (last.size() > 2 && last.front() == '0') {
        last.remove_prefix(1);
    }
    if (last != "38" && last != "48") {
        return std::string_view::npos;
    }
    std::size_t at = 0;
    // Reads a number at `at`: its value, -1 when missing.
    const auto number = [&] {
        long value = -1;
        while (at < params.size() && params[at] >= '0' && params[at] <= '9') {
            value = std::min<long>(std::max<long>(value, 0) * 10 + (params[at] - '0'), 100000);
            ++at;
        }
        return value;
    };
    while (true) {
        const std::size_t start = at;
        const long value = number();
        if (at == params.size()) {
            return value == 38 || value == 48 ? start : std::string_view::npos;
        }
        if (params[at] == ':') {
            // Sub-parameters belong to this parameter (a colour's among them).
            while (at < params.size() && params[at] != ';') {
                ++at;
            }
        } else if (params[at] != ';') {
            return std::string_view::npos; // not numbers: not an SGR libvterm reads
        } else if (value == 38 || value == 48) {
            // Its palette and numbers follow: 5 and an index, or 2 and
            // three values, skipped as libvterm skips them.
            ++at;
            const long palette = number();
            for (int numbers = palette == 5   ? 1
                               : palette == 2 ? 3
                                              : 0;
                 numbers > 0 && at < params.size() && params[at] == ';'; --numbers) {
                ++at;
                number();
            }
        }
        if (at >= params.size()) {
            return std::string_view::npos;
        }
        ++at; // the separator
    }
}

// Whether the byte at `at` may be part of a UTF-8 code point. libvterm 0.1.4
// decodes text with one of two UTF-8 decoders, each with its own state: the
// one for its GL set when a write's text starts with ASCII, another when it
// starts with any other byte. So where a write ends before such a byte
// matters; before a control, an escape or the end of what was fed, it does
// not.
bool utf8_after(std::string_view bytes, std::size_t at) {
    return at < bytes.size() && static_cast<unsigned char>(bytes[at]) >= 0x80;
}

// Where the CSI that starts at `at` ends (the index after its final byte),
// when it is whole in `bytes` and simple: no leader, no intermediates, and
// parameters of digits and `;` within InputFilter's limits. SGR is mostly
// such a CSI, and so are most cursor movements and erases. 0 otherwise.
std::size_t whole_csi_end(std::string_view bytes, std::size_t at) {
    if (at + 2 >= bytes.size() || bytes[at + 1] != '[') {
        return 0;
    }
    const std::size_t limit = std::min(bytes.size(), at + InputFilter::kMaxSequence);
    int separators = 0;
    for (std::size_t end = at + 2; end < limit; ++end) {
        const auto byte = static_cast<unsigned char>(bytes[end]);
        if (byte >= '0' && byte <= '9') {
            continue;
        }
        if (byte == ';') {
            ++separators;
            continue;
        }
        const bool final = byte >= 0x40 && byte < kDel;
        return final && separators <= InputFilter::kMaxCsiSeparators ? end + 1 : 0;
    }
    return 0;
}

long argument(const std::vector<long>& arguments, std::size_t index, long missing) {
    return index < arguments.size() && arguments[index] >= 0 ? arguments[index] : missing;
}

} // namespace

void InputFilter::feed(std::string_view bytes) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (state_ == State::Normal) {
            at = take_text(bytes, at);
        } else if (state_ == State::String) {
            at = take_string(bytes, at);
        } else if (state_ == State::CsiParams) {
            at = take_csi_params(bytes, at);
        } else {
            take_sequence_byte(static_cast<unsigned char>(bytes[at++]));
        }
    }
    flush();
}

std::size_t InputFilter::take_text(std::string_view bytes, std::size_t at) {
    while (at < bytes.size()) {
        const auto byte = static_cast<unsigned char>(bytes[at]);
        if (byte >= 0x80) {
            take_utf8_byte(byte);
            ++at;
            continue;
        }
        if (utf8_remaining_ > 0) {
            // An unfinished code point, which libvterm shows as U+FFFD (a
            // base character), but only when its parser gets the byte after
            // it in the same write: a code point cut short at the start of a
            // write stays inside its UTF-8 decoder, and the ASCII after it
            // is printed as it is. That byte goes with it.
            utf8_remaining_ = 0;
            combining_run_ = 0;
            if (line_text(byte)) {
                repeat_safe_ = repeat_safe_ || printable_ascii(byte);
                emit_byte(static_cast<char>(byte));
                ++at;
                continue;
            }
        }
        if (byte == kEsc) {
            if (const std::size_t end = whole_csi_end(bytes, at); end != 0) {
                // Taken in one go, as take_sequence_byte would collect it.
                pending_.assign(bytes.substr(at, end - 1 - at));
                discarding_ = false;
                dispatch_csi(static_cast<unsigned char>(bytes[end - 1]));
                at = end;
                continue;
            }
            begin_escape();
            return at + 1;
        }
        if (line_text(byte) && !single_shift_ && text_is_plain()) {
            // The common case: lines of ASCII text, handed on in chunks.
            std::size_t end = at;
            bool printed = false;
            const std::size_t limit = std::min(bytes.size(), at + kChunk);
            // Byte by byte; after eight printable bytes in a row, a long
            // line's worth eight at a time (short lines, like seq's, never
            // pay for the wider test). Whether anything printable came is
            // noted at line ends and with each eight, not at every byte.
            int streak = 0;
            while (end < limit) {
                const auto c = static_cast<unsigned char>(bytes[end]);
                if (!line_text(c)) {
                    break;
                }
                ++end;
                if (!printable_ascii(c)) {
                    printed = printed || streak > 0;
                    streak = 0;
                    continue;
                }
                if (++streak == 8) {
                    printed = true;
                    while (end + 8 <= limit && eight_printable(bytes.data() + end)) {
                        end += 8;
                    }
                    streak = 0;
                }
            }
            if (printed || streak > 0) {
                combining_run_ = 0;
                repeat_safe_ = true;
            }
            if (end - at >= kMinTextRun || (out_.empty() && !utf8_after(bytes, end))) {
                flush();
                sink_.text(bytes.substr(at, end - at));
            } else {
                emit(bytes.substr(at, end - at));
            }
            at = end;
            continue;
        }
        if (printable_ascii(byte)) {
            // Text while a single shift or a character set other than ASCII
            // is in use, or in insert, origin or new line mode.
            std::size_t end = at + 1;
            const std::size_t limit = std::min(bytes.size(), at + kChunk);
            while (end < limit && printable_ascii(static_cast<unsigned char>(bytes[end]))) {
                ++end;
            }
            combining_run_ = 0;
            repeat_safe_ = true;
            if (single_shift_) {
                // libvterm prints this one character from the shifted set,
                // with a decoder of that set's own; the run after it goes on
                // in the set in use.
                single_shift_ = false;
                emit_byte(static_cast<char>(byte));
                ++at;
                continue;
            }
            emit(bytes.substr(at, end - at));
            at = end;
            continue;
        }
        // C0 controls and DEL. They do not end a run of combining marks: one
        // that does not move the cursor (BEL) leaves libvterm combining on.
        note_control(byte);
        emit_byte(static_cast<char>(byte));
        ++at;
    }
    return at;
}

void InputFilter::take_utf8_byte(unsigned char byte) {
    if (byte < 0xc0) {
        const bool continues = utf8_remaining_ > 0;
        emit_byte(static_cast<char>(byte));
        if (!continues) {
            combining_run_ = 0; // a stray continuation byte shows as U+FFFD
            repeat_safe_ = false;
            return;
        }
        utf8_code_point_ = (utf8_code_point_ << 6) | (byte & 0x3f);
        if (--utf8_remaining_ > 0) {
            return;
        }
        // C1 controls and marks have no width of their own; anything else
        // libvterm decodes the same (or as U+FFFD) takes one or two columns.
        repeat_safe_ = utf8_code_point_ >= 0xa0 && !is_combining(utf8_code_point_);
        if (is_combining(utf8_code_point_)) {
            if (combining_run_ >= kMaxCombiningRun) {
                out_.resize(utf8_start_); // dropped: libvterm would stack it forever
                return;
            }
            ++combining_run_;
        } else {
            combining_run_ = 0;
        }
        return;
    }
    // A lead byte. libvterm's decoder, like this one, takes sequences of up to
    // six bytes.
    const int length = byte < 0xe0   ? 2
                       : byte < 0xf0 ? 3
                       : byte < 0xf8 ? 4
                       : byte < 0xfc ? 5
                       : byte < 0xfe ? 6
                                     : 0;
    if (utf8_remaining_ > 0 || length == 0) {
        combining_run_ = 0; // U+FFFD, a base character, for the unfinished one or this byte
        repeat_safe_ = false;
    }
    if (length == 0) {
        utf8_remaining_ = 0;
        emit_byte(static_cast<char>(byte));
        return;
    }
    utf8_remaining_ = length - 1;
    utf8_code_point_ = byte & (0x7fu >> length);
    utf8_start_ = out_.size();
    emit_byte(static_cast<char>(byte));
}

std::size_t InputFilter::take_string(std::string_view bytes, std::size_t at) {
    // Everything but controls is string content; collect it in one go.
    std::size_t end = at;
    while (end < bytes.size()) {
        const auto byte = static_cast<unsigned char>(bytes[end]);
        if (byte < 0x20 || byte == kDel) {
            break;
        }
        ++end;
    }
    collect(bytes.substr(at, end - at), kMaxString);
    if (end < bytes.size()) {
        take_sequence_byte(static_cast<unsigned char>(bytes[end++]));
    }
    return end;
}

void InputFilter::collect(std::string_view part, std::size_t limit) {
    if (discarding_) {
        return;
    }
    if (pending_.size() + part.size() > limit) {
        discarding_ = true;
        pending_.clear();
    } else {
        pending_.append(part);
    }
}

std::size_t InputFilter::take_csi_params(std::string_view bytes, std::size_t at) {
    // The parameters of a CSI (SGR's above all) in one go, as
    // take_sequence_byte would collect them one at a time.
    std::size_t end = at;
    int separators = separators_;
    while (end < bytes.size()) {
        const char c = bytes[end];
        if (c == ';' || c == ':') {
            ++separators;
        } else if (c < '0' || c > '9') {
            break;
        }
        ++end;
    }
    if (end > at) {
        separators_ = separators;
        if (separators_ > kMaxCsiSeparators) {
            discarding_ = true; // libvterm 0.1.4 would write past its argument array
        }
        collect(bytes.substr(at, end - at), kMaxSequence);
    }
    if (end < bytes.size()) {
        take_sequence_byte(static_cast<unsigned char>(bytes[end++]));
    }
    return end;
}

void InputFilter::take_sequence_byte(unsigned char byte) {
    // Bytes that mean the same in every state, as in libvterm's parser.
    if (byte == 0x00 || byte == kDel) {
        return;
    }
    if (byte == kCan || byte == kSub) {
        abandon();
        return;
    }
    if (byte == kEsc) {
        if (state_ == State::String) {
            state_ = State::StringEscape;
        } else {
            begin_escape(); // ends whatever was being collected
        }
        return;
    }
    if (byte == kBel && state_ == State::String) {
        finish_string(true);
        return;
    }
    if (byte < 0x20) {
        // libvterm acts on a C0 control in the middle of a sequence at once
        // and goes on with the sequence; nothing of the sequence has been
        // forwarded yet, so forwarding the control alone does the same.
        note_control(byte);
        emit_byte(static_cast<char>(byte));
        return;
    }

    switch (state_) {
    case State::Normal:
    case State::String:
        break; // handled by take_text and take_string

    case State::StringEscape:
        if (byte == '\\') {
            finish_string(false);
            return;
        }
        // Any other byte abandons the string and starts an escape sequence.
        begin_escape();
        [[fallthrough]];

    case State::Escape:
        if (byte == '[') {
            pending_.assign("\x1b[");
            state_ = State::CsiLeader;
        } else if (byte == ']') {
            begin_string(StringKind::Osc);
        } else if (byte == 'P') {
            begin_string(StringKind::Dcs);
        } else if (intermediates_ == 0 && (byte == '_' || byte == '^' || byte == 'X')) {
            begin_string(StringKind::Ignored); // APC, PM, SOS
        } else if (intermediate(byte)) {
            if (intermediates_ < 15) {
                append_pending(static_cast<char>(byte));
                ++intermediates_;
            }
        } else if (byte >= 0x30 && byte < kDel) {
            dispatch_escape(byte);
        }
        // libvterm ignores anything else and stays in the escape.
        return;

    case State::CsiLeader:
        if (byte >= 0x3c && byte <= 0x3f) {
            if (leader_ < 15) {
                append_pending(static_cast<char>(byte));
                ++leader_;
            }
            return;
        }
        state_ = State::CsiParams;
        [[fallthrough]];

    case State::CsiParams:
        if ((byte >= '0' && byte <= '9') || byte == ';' || byte == ':') {
            if (byte == ';' || byte == ':') {
                if (++separators_ > kMaxCsiSeparators) {
                    discarding_ = true; // libvterm 0.1.4 would write past its argument array
                }
            }
            append_pending(static_cast<char>(byte));
            return;
        }
        state_ = State::CsiIntermediates;
        [[fallthrough]];

    case State::CsiIntermediates:
        if (intermediate(byte)) {
            if (intermediates_ < 15) {
                append_pending(static_cast<char>(byte));
                ++intermediates_;
            }
        } else if (byte >= 0x40 && byte < kDel) {
            dispatch_csi(byte);
        } else {
            abandon(); // not a CSI after all; libvterm drops it with this byte
        }
        return;
    }
}

void InputFilter::begin_escape() {
    pending_.assign(1, static_cast<char>(kEsc));
    intermediates_ = 0;
    leader_ = 0;
    separators_ = 0;
    discarding_ = false;
    state_ = State::Escape;
}

void InputFilter::begin_string(StringKind kind) {
    string_kind_ = kind;
    discarding_ = kind == StringKind::Ignored;
    pending_.assign(kind == StringKind::Dcs ? "\x1bP" : "\x1b]");
    state_ = State::String;
}

void InputFilter::append_pending(char byte) {
    if (discarding_) {
        return;
    }
    if (pending_.size() >= kMaxSequence) {
        discarding_ = true;
        pending_.clear();
        return;
    }
    pending_.push_back(byte);
}

void InputFilter::abandon() {
    pending_.clear();
    discarding_ = false;
    state_ = State::Normal;
}

void InputFilter::dispatch_escape(unsigned char final) {
    if (intermediates_ == 0) {
        switch (final) {
        case 'c':
            flush();
            sink_.reset(true);
            reset_text_state();
            ++margins_epoch_;
            break;
        case 'N': // SS2
        case 'O': // SS3
            single_shift_ = true;
            break;
        case 'n': // LS2
            locking_shift_ = 2;
            break;
        case 'o': // LS3
            locking_shift_ = 3;
            break;
        case '7': // DECSC
            save_cursor();
            break;
        case '8': // DECRC
            pending_.push_back(static_cast<char>(final));
            emit(pending_);
            abandon();
            restore_cursor();
            return;
        case '=':
            sink_.keypad_mode(true);
            break;
        case '>':
            sink_.keypad_mode(false);
            break;
        default:
            break;
        }
    } else if (pending_ == "\x1b " && final == 'G') {
        abandon(); // S8C1T: replies would use 8-bit C1 controls, invalid in UTF-8
        return;
    } else if (pending_.size() == 2 && pending_[1] >= '(' && pending_[1] <= '+') {
        // SCS: designates G0 (ESC ( F) to G3 (ESC + F). libvterm knows these
        // three sets and leaves the designation alone for any other.
        const auto set = static_cast<std::size_t>(pending_[1] - '(');
        if (final == 'B' || final == '0' || final == 'A') {
            designations_[set] = static_cast<char>(final);
            charset_is_ascii_[set] = final == 'B';
        }
    }
    pending_.push_back(static_cast<char>(final));
    emit(pending_);
    abandon();
}

void InputFilter::dispatch_csi(unsigned char final) {
    if (discarding_) {
        abandon();
        return;
    }
    pending_.push_back(static_cast<char>(final));
    if (final == 'r' || final == 's' || final == 'h' || final == 'l') {
        ++margins_epoch_;
    }
    // The keyboard protocols' requests (CSI > 1 u, CSI ? u, CSI > 4 ; 2 m...)
    // have a leader; SGR never does.
    const bool keyboard_request = (final == 'u' || final == 'm' || final == 'n') &&
                                  pending_.size() > 2 && pending_[2] >= '<' && pending_[2] <= '?';
    if (final == 'm' && !keyboard_request) {
        // SGR. libvterm keeps every attribute but faint; the sink is told of
        // faint in order with the text, when it changes. Without faint in
        // force only a parameter 2 can change it: most SGR is not read.
        if (const auto bare =
                bare_colour_at_end(std::string_view(pending_).substr(2, pending_.size() - 3));
            bare != std::string_view::npos) {
            // Such a colour is meant to do nothing: it is left out (and the
            // SGR with it, when it is all there is).
            if (bare == 0) {
                abandon();
                return;
            }
            pending_.erase(2 + bare - 1, pending_.size() - 1 - (2 + bare - 1));
        }
        const auto sequence = std::string_view(pending_).substr(0, pending_.size() - 1);
        const auto params = sequence.substr(2);
        const bool faint_changes =
            (faint_ || may_set_faint(sequence)) && faint_after_sgr(params, faint_) != faint_;
        // The sink may apply the rest itself (most SGR, the screen's fast
        // path): then libvterm never parses it.
        bool applied = false;
        if (!origin_mode_) {
            flush();
            applied = sink_.sgr(params);
        }
        if (!applied) {
            emit(pending_);
        }
        abandon();
        if (faint_changes) {
            flush();
            set_faint(!faint_);
        }
        return;
    }
    if (!keyboard_request && final != 'h' && final != 'l' && final != 'p' && final != 'b' &&
        final != 'J') {
        // Most sequences need nothing below.
        emit(pending_);
        abandon();
        return;
    }
    const Csi csi = split_csi(pending_);

    if (dispatch_keyboard_request(csi.leader, csi.params, csi.intermediates, final)) {
        abandon();
        return;
    }
    if (csi.leader == "?" && csi.intermediates.empty() && (final == 'h' || final == 'l')) {
        bool plain = false;
        const auto modes = mode_numbers(csi.params, plain);
        for (const int mode : modes) {
            sink_.private_mode(mode, final == 'h');
        }
        if (plain && modes.size() > 1) {
            for (const int mode : modes) {
                emit("\x1b[?");
                emit(std::to_string(mode));
                emit_byte(static_cast<char>(final));
                after_private_mode(mode, final == 'h');
            }
            abandon();
            return;
        }
        // Forwarded whole: libvterm acts on the first mode only.
        emit(pending_);
        after_private_mode(static_cast<int>(first_parameter(csi.params)), final == 'h');
        abandon();
        return;
    } else if (csi.leader.empty() && csi.intermediates == "!" && final == 'p') {
        flush();
        sink_.reset(false);
        // libvterm 0.1.4 reads the `!` as a leader it does not know and so
        // never does this reset: its insert mode, origin mode and character
        // sets stay.
    } else if (csi.leader.empty() && csi.intermediates.empty() && (final == 'h' || final == 'l')) {
        // SM and RM: libvterm acts on the first parameter only.
        const long mode = first_parameter(csi.params);
        if (mode == 4) {
            insert_mode_ = final == 'h';
        } else if (mode == 20) {
            newline_mode_ = final == 'h';
        }
    } else if (csi.leader.empty() && csi.intermediates.empty() && final == 'b' && !repeat_safe_) {
        abandon(); // REP of a glyph without width: libvterm would never return
        return;
    } else if (csi.leader.empty() && csi.intermediates.empty() && final == 'J' &&
               csi.params == "3") {
        flush();
        sink_.erase_scrollback();
    }
    emit(pending_);
    abandon();
}

bool InputFilter::dispatch_keyboard_request(std::string_view leader, std::string_view params,
                                            std::string_view intermediates, unsigned char final) {
    if (!intermediates.empty() || leader.size() != 1 ||
        (final != 'u' && final != 'm' && final != 'n')) {
        return false;
    }
    const auto arguments = csi_arguments(params);
    if (!arguments) {
        return false;
    }
    const char lead = leader[0];
    constexpr int kMaxFlags = 0xff;
    if (final == 'u') {
        KittyKeyboardRequest request;
        switch (lead) {
        case '>':
            request = {.kind = KittyKeyboardRequest::Kind::Push,
                       .value =
                           static_cast<int>(std::min<long>(argument(*arguments, 0, 0), kMaxFlags))};
            break;
        case '<':
            request = {.kind = KittyKeyboardRequest::Kind::Pop,
                       .value = static_cast<int>(std::min<long>(argument(*arguments, 0, 1), 100))};
            break;
        case '=':
            request = {.kind = KittyKeyboardRequest::Kind::Set,
                       .value =
                           static_cast<int>(std::min<long>(argument(*arguments, 0, 0), kMaxFlags)),
                       .mode = static_cast<int>(std::min<long>(argument(*arguments, 1, 1), 4))};
            break;
        case '?':
            if (!arguments->empty()) {
                return false;
            }
            request = {.kind = KittyKeyboardRequest::Kind::Query};
            break;
        default:
            return false;
        }
        flush();
        sink_.kitty_keyboard(request);
        return true;
    }
    if (lead == '?' && final == 'm') {
        // XTQMODKEYS: only modifyOtherKeys (4) is answered, as
        // `CSI > 4 ; level m`; the others go to libvterm, which ignores them.
        if (arguments->size() != 1 || argument(*arguments, 0, -1) != 4) {
            return false;
        }
        flush();
        sink_.query_modify_other_keys();
        return true;
    }
    if (lead != '>') {
        return false;
    }
    // xterm's key modifier resources: 4 is modifyOtherKeys; `CSI > m` resets
    // them all. The others (cursor and function keys) are left to libvterm,
    // which ignores them.
    const long resource = argument(*arguments, 0, -1);
    if (final == 'n') {
        if (resource != 4) {
            return false;
        }
        flush();
        sink_.modify_other_keys(0);
        return true;
    }
    if (arguments->empty() || (resource == 4 && arguments->size() == 1)) {
        flush();
        sink_.modify_other_keys(0);
        return true;
    }
    if (resource != 4) {
        return false;
    }
    const long level = argument(*arguments, 1, 0);
    if (level > 2) {
        return true; // a level xterm does not have: dropped, nothing changes
    }
    flush();
    sink_.modify_other_keys(static_cast<int>(level));
    return true;
}

void InputFilter::finish_string(bool bel) {
    if (!discarding_ && string_kind_ != StringKind::Ignored) {
        emit(pending_);
        emit(bel ? std::string_view("\x07") : std::string_view("\x1b\\"));
        // Forwarded at once so that a reply to it sees its terminator.
        string_bel_ = bel;
        flush();
    }
    abandon();
}

void InputFilter::after_private_mode(int mode, bool enabled) {
    if (mode == 1048 || mode == 1049) {
        // libvterm saves and restores the cursor (and its pen) as DECSC and
        // DECRC do.
        if (enabled) {
            save_cursor();
        } else {
            restore_cursor();
        }
    } else if (mode == 6) {
        origin_mode_ = enabled;
    } else if (mode == 7) {
        autowrap_ = enabled;
    } else if (mode == 3) {
        // DECCOLM, which libvterm 0.1.4 ignores. A VT100 erases the screen,
        // resets the scrolling region and homes the cursor whenever the
        // column mode is set or reset, and tmux erases and homes too, even
        // though neither width is shown; vttest starts screens with it. The
        // width itself stays: the pane's size is not the program's to change.
        emit("\x1b[r\x1b[H\x1b[2J");
    }
}

void InputFilter::save_cursor() {
    saved_designations_ = designations_;
    saved_locking_shift_ = locking_shift_;
    saved_faint_ = faint_;
}

void InputFilter::restore_cursor() {
    // A VT100 restores the character sets with the cursor (xterm and tmux do
    // too; vttest's save/restore screen checks it); libvterm 0.1.4 restores
    // only the position and the pen, so the designations and the shift saved
    // with the cursor are sent to it again, and the sink is told of faint,
    // which libvterm's pen lacks.
    for (std::size_t set = 0; set < designations_.size(); ++set) {
        const char designate[] = {'\x1b', static_cast<char>('(' + set), saved_designations_[set],
                                  '\0'};
        emit(designate);
        designations_[set] = saved_designations_[set];
        charset_is_ascii_[set] = designations_[set] == 'B';
    }
    static constexpr std::array<std::string_view, 4> shifts = {"\x0f", "\x0e", "\x1bn", "\x1bo"};
    locking_shift_ = saved_locking_shift_;
    emit(shifts[static_cast<std::size_t>(locking_shift_)]);
    if (saved_faint_ != faint_) {
        flush();
        set_faint(saved_faint_);
    }
}

void InputFilter::set_faint(bool faint) {
    faint_ = faint;
    sink_.faint(faint);
}

void InputFilter::note_control(unsigned char byte) {
    if (byte == 0x0e) { // SO (LS1)
        locking_shift_ = 1;
    } else if (byte == 0x0f) { // SI (LS0)
        locking_shift_ = 0;
    }
}

void InputFilter::reset_text_state() {
    // What libvterm's full reset (RIS) does to them.
    insert_mode_ = false;
    newline_mode_ = false;
    origin_mode_ = false;
    autowrap_ = true;
    single_shift_ = false;
    charset_is_ascii_.fill(true);
    designations_.fill('B');
    locking_shift_ = 0;
    saved_designations_.fill('B');
    saved_locking_shift_ = 0;
    // libvterm's reset starts a new pen (the sink's initpen).
    faint_ = false;
    saved_faint_ = false;
}

void InputFilter::emit(std::string_view bytes) {
    out_.append(bytes);
    if (out_.size() >= kChunk) {
        flush();
    }
}

void InputFilter::emit_byte(char byte) {
    out_.push_back(byte);
    if (out_.size() >= kChunk) {
        flush();
    }
}

void InputFilter::flush() {
    const std::size_t end = utf8_remaining_ > 0 ? utf8_start_ : out_.size();
    if (end == 0) {
        return;
    }
    sink_.forward(std::string_view(out_).substr(0, end));
    out_.erase(0, end);
    utf8_start_ = 0;
}

} // namespace sb::term

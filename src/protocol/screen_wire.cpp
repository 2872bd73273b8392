#include "protocol/screen_wire.hpp"

#include <array>

namespace sb::protocol {

namespace {

constexpr char kStyle = 'S';
constexpr char kCell = 'C';
constexpr char kBlanks = 'B';

void append_color(std::string& out, const WireColor& color) {
    out += static_cast<char>(color.kind);
    out += static_cast<char>(color.red);
    out += static_cast<char>(color.green);
    out += static_cast<char>(color.blue);
}

bool blank_cell(const WireCell& cell) {
    return cell.width == 1 && (cell.text.empty() || cell.text == " ");
}

class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    bool done() const { return at_ >= bytes_.size(); }
    bool byte(std::uint8_t& out) {
        if (done()) {
            return false;
        }
        out = static_cast<std::uint8_t>(bytes_[at_++]);
        return true;
    }
    bool take(std::size_t count, std::string& out) {
        if (bytes_.size() - at_ < count) {
            return false;
        }
        out.assign(bytes_.substr(at_, count));
        at_ += count;
        return true;
    }
    bool color(WireColor& out) {
        std::uint8_t kind = 0;
        if (!byte(kind) || kind > static_cast<std::uint8_t>(WireColor::Kind::Rgb)) {
            return false;
        }
        out.kind = static_cast<WireColor::Kind>(kind);
        return byte(out.red) && byte(out.green) && byte(out.blue);
    }

private:
    std::string_view bytes_;
    std::size_t at_ = 0;
};

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace

std::string encode_row(std::span<const WireCell> cells) {
    std::string out;
    out.reserve(cells.size() * 2);
    WireStyle current;
    std::size_t at = 0;
    while (at < cells.size()) {
        const WireCell& cell = cells[at];
        if (cell.style != current) {
            current = cell.style;
            out += kStyle;
            out += static_cast<char>(current.attributes);
            out += static_cast<char>(current.underline);
            append_color(out, current.foreground);
            append_color(out, current.background);
        }
        if (blank_cell(cell)) {
            std::size_t count = 1;
            while (at + count < cells.size() && count < 0xffff && blank_cell(cells[at + count]) &&
                   cells[at + count].style == current) {
                ++count;
            }
            out += kBlanks;
            out += static_cast<char>(count & 0xff);
            out += static_cast<char>(count >> 8);
            at += count;
            continue;
        }
        const std::size_t length = std::min<std::size_t>(cell.text.size(), 255);
        out += kCell;
        out += static_cast<char>(cell.width);
        out += static_cast<char>(length);
        out.append(cell.text, 0, length);
        ++at;
    }
    return out;
}

std::optional<std::vector<WireCell>> decode_row(std::string_view bytes) {
    std::vector<WireCell> cells;
    Reader reader(bytes);
    WireStyle current;
    while (!reader.done()) {
        std::uint8_t tag = 0;
        reader.byte(tag);
        switch (static_cast<char>(tag)) {
        case kStyle:
            if (!reader.byte(current.attributes) || !reader.byte(current.underline) ||
                !reader.color(current.foreground) || !reader.color(current.background)) {
                return std::nullopt;
            }
            break;
        case kCell: {
            WireCell cell;
            std::uint8_t length = 0;
            if (!reader.byte(cell.width) || cell.width > 2 || !reader.byte(length) ||
                !reader.take(length, cell.text)) {
                return std::nullopt;
            }
            cell.style = current;
            cells.push_back(std::move(cell));
            break;
        }
        case kBlanks: {
            std::uint8_t low = 0;
            std::uint8_t high = 0;
            if (!reader.byte(low) || !reader.byte(high)) {
                return std::nullopt;
            }
            const std::size_t count = low | (std::size_t{high} << 8);
            if (cells.size() + count > 100'000) {
                return std::nullopt;
            }
            cells.resize(cells.size() + count, WireCell{.text = {}, .width = 1, .style = current});
            break;
        }
        default:
            return std::nullopt;
        }
    }
    return cells;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t at = 0;
    for (; at + 3 <= bytes.size(); at += 3) {
        const std::uint32_t group = (std::uint32_t{static_cast<std::uint8_t>(bytes[at])} << 16) |
                                    (std::uint32_t{static_cast<std::uint8_t>(bytes[at + 1])} << 8) |
                                    static_cast<std::uint8_t>(bytes[at + 2]);
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += kAlphabet[(group >> 6) & 63];
        out += kAlphabet[group & 63];
    }
    const std::size_t rest = bytes.size() - at;
    if (rest > 0) {
        std::uint32_t group = std::uint32_t{static_cast<std::uint8_t>(bytes[at])} << 16;
        if (rest == 2) {
            group |= std::uint32_t{static_cast<std::uint8_t>(bytes[at + 1])} << 8;
        }
        out += kAlphabet[(group >> 18) & 63];
        out += kAlphabet[(group >> 12) & 63];
        out += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    static const auto table = [] {
        std::array<std::int8_t, 256> values{};
        values.fill(-1);
        for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
            values[static_cast<std::uint8_t>(kAlphabet[i])] = static_cast<std::int8_t>(i);
        }
        return values;
    }();
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t at = 0; at < text.size(); at += 4) {
        const bool last = at + 4 == text.size();
        int padding = 0;
        std::uint32_t group = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            const char c = text[at + i];
            if (c == '=' && last && i >= 2) {
                ++padding;
                group <<= 6;
                continue;
            }
            const auto value = table[static_cast<std::uint8_t>(c)];
            if (value < 0 || padding > 0) {
                return std::nullopt;
            }
            group = (group << 6) | static_cast<std::uint32_t>(value);
        }
        out += static_cast<char>((group >> 16) & 0xff);
        if (padding < 2) {
            out += static_cast<char>((group >> 8) & 0xff);
        }
        if (padding < 1) {
            out += static_cast<char>(group & 0xff);
        }
    }
    return out;
}

} // namespace sb::protocol

// The attach protocol's row form and the attach client's input, output and
// prefix-key logic.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <uv.h>

#include "client/attach/input.hpp"
#include "client/attach/pane_model.hpp"
#include "client/attach/renderer.hpp"
#include "client/attach/scrollback_sync.hpp"
#include "client/attach/tty.hpp"
#include "protocol/screen_frame.hpp"
#include "protocol/screen_wire.hpp"
#include "server/attach.hpp"
#include "term/screen.hpp"
#include "util/prefix_key.hpp"
#include "worker/keys.hpp"

using namespace sb::client::attach;
using sb::protocol::WireCell;
using sb::protocol::WireColor;
using sb::protocol::WireStyle;

TEST_SUITE("attach") {
    TEST_CASE("base64 round-trips every byte and rejects what is not base64") {
        std::string all;
        for (int i = 0; i < 256; ++i) {
            all += static_cast<char>(i);
        }
        for (std::size_t length = 0; length <= all.size(); length += 37) {
            const auto part = all.substr(0, length);
            CHECK(sb::protocol::base64_decode(sb::protocol::base64_encode(part)) == part);
        }
        CHECK(sb::protocol::base64_encode("ab") == "YWI=");
        CHECK(sb::protocol::base64_encode("abc") == "YWJj");
        CHECK_FALSE(sb::protocol::base64_decode("YWI"));
        CHECK_FALSE(sb::protocol::base64_decode("Y=WI"));
        CHECK_FALSE(sb::protocol::base64_decode("YW*="));
    }

    TEST_CASE("a row keeps text, styles, wide glyphs and runs of blanks") {
        std::vector<WireCell> row(10);
        row[0].text = "a";
        row[1].text = "é";
        row[1].style.attributes = Style::kBold | Style::kItalic;
        row[1].style.foreground = {.kind = WireColor::Kind::Rgb, .red = 1, .green = 2, .blue = 3};
        row[2] = {.text = "界", .width = 2};
        row[3] = {.text = "", .width = 0};
        row[4].style.background = {.kind = WireColor::Kind::Indexed, .red = 196};
        row[5].style.background = {.kind = WireColor::Kind::Indexed, .red = 196};
        row[6].style.underline = 3;
        row[6].text = "x";
        const auto encoded = sb::protocol::encode_row(row);
        const auto decoded = sb::protocol::decode_row(encoded);
        REQUIRE(decoded);
        CHECK(*decoded == row);
        // Four blank cells in the default style take a few bytes, not four records.
        std::vector<WireCell> blanks(200);
        CHECK(sb::protocol::encode_row(blanks).size() == 3);
    }

    TEST_CASE("a malformed row is refused") {
        CHECK_FALSE(sb::protocol::decode_row("Z"));
        CHECK_FALSE(sb::protocol::decode_row("C\x01\x05"
                                             "ab"));
        CHECK_FALSE(sb::protocol::decode_row(std::string("S\x01", 2)));
        CHECK(sb::protocol::decode_row("")->empty());
    }

    TEST_CASE("prefix keys are named as tmux names them") {
        CHECK(sb::util::prefix_key_bytes("C-b") == "\x02");
        CHECK(sb::util::prefix_key_bytes("C-a") == "\x01");
        CHECK(sb::util::prefix_key_bytes("C-Space") == std::string(1, '\0'));
        CHECK(sb::util::prefix_key_bytes("C-\\") == "\x1c");
        CHECK(sb::util::prefix_key_bytes("M-a") == "\x1b"
                                                   "a");
        CHECK(sb::util::prefix_key_bytes("`") == "`");
        CHECK_FALSE(sb::util::prefix_key_bytes("C-"));
        CHECK_FALSE(sb::util::prefix_key_bytes("Ctrl-b"));
        CHECK_FALSE(sb::util::prefix_key_bytes("C-1"));
    }

    TEST_CASE("input is split into text, cursor keys, pastes, focus and mouse") {
        InputParser parser;
        auto events = parser.feed("ab\x1b[A\x1b[1;5C\x1bOB\x1b[I\x1b[<0;12;3M\x1b[<0;12;3m\x1b[5~");
        REQUIRE(events.size() == 8);
        CHECK(events[0] == InputEvent{.kind = InputEvent::Kind::Bytes, .bytes = "ab"});
        CHECK(events[1] == InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'A'});
        CHECK(events[2] ==
              InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'C', .modifier = 5});
        CHECK(events[3] == InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'B'});
        CHECK(events[4].kind == InputEvent::Kind::FocusIn);
        CHECK(events[5] == InputEvent{.kind = InputEvent::Kind::Mouse, .col = 12, .row = 3});
        CHECK(events[6].release);
        CHECK(events[7] == InputEvent{.kind = InputEvent::Kind::Bytes, .bytes = "\x1b[5~"});
    }

    TEST_CASE("a paste and an escape sequence may be split anywhere") {
        InputParser parser;
        const std::string input = "x\x1b[200~line 1\nline 2\x1b[201~\x1b[B";
        std::vector<InputEvent> events;
        for (const char c : input) {
            for (auto& e : parser.feed(std::string(1, c))) {
                events.push_back(e);
            }
        }
        REQUIRE(events.size() == 3);
        CHECK(events[0].bytes == "x");
        CHECK(events[1] == InputEvent{.kind = InputEvent::Kind::Paste, .bytes = "line 1\nline 2"});
        CHECK(events[2] == InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'B'});
    }

    TEST_CASE("a lone Escape is held until flushed") {
        InputParser parser;
        CHECK(parser.feed("\x1b").empty());
        CHECK(parser.pending());
        const auto events = parser.flush();
        REQUIRE(events.size() == 1);
        CHECK(events[0] == InputEvent{.kind = InputEvent::Kind::Key, .code = 27});
        CHECK(encode_key(events[0], WorkerModes{}) == "\x1b");
        CHECK_FALSE(parser.pending());
    }

    TEST_CASE("modified keys are read in kitty's, xterm's and the legacy forms") {
        const auto key = [](char32_t code, int modifier, char32_t shifted = 0) {
            return InputEvent{.kind = InputEvent::Kind::Key,
                              .modifier = modifier,
                              .code = code,
                              .shifted = shifted};
        };
        InputParser parser;
        // kitty: Shift+Enter, Ctrl+b (the prefix), Escape, Alt+Shift+1 with
        // its shifted key (flag 4), a release (dropped), Ctrl+c with lock
        // keys, tmux's upper case for Ctrl+Shift+a.
        auto events = parser.feed("\x1b[13;2u\x1b[98;5u\x1b[27u\x1b[49:33;4u\x1b[97;5:3u"
                                  "\x1b[99;69u\x1b[65;6u");
        REQUIRE(events.size() == 6);
        CHECK(events[0] == key(13, 2));
        CHECK(events[1] == key(U'b', 5));
        CHECK(events[2] == key(27, 1));
        CHECK(events[3] == key(U'1', 4, U'!'));
        CHECK(events[4] == key(U'c', 69));
        CHECK(events[5] == key(U'a', 6, U'A'));
        // xterm's modifyOtherKeys: Ctrl+Enter, Ctrl+Shift+a.
        events = parser.feed("\x1b[27;5;13~\x1b[27;6;65~");
        REQUIRE(events.size() == 2);
        CHECK(events[0] == key(13, 5));
        CHECK(events[1] == key(U'a', 6, U'A'));
        // Legacy Alt chords and Escape twice; text and other sequences stay bytes.
        events = parser.feed("a\x1bx\x1bX\x1b\r\x1b\x02\x1b\x1b[Ab\x1b[5~");
        REQUIRE(events.size() == 8);
        CHECK(events[0].bytes == "a");
        CHECK(events[1] == key(U'x', 3));
        CHECK(events[2] == key(U'x', 4, U'X'));
        CHECK(events[3] == key(13, 3));
        CHECK(events[4] == key(U'b', 7));
        CHECK(events[5] == key(27, 1));
        CHECK(events[6] == InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'A'});
        CHECK(events[7].bytes == "b\x1b[5~");
        // kitty's keypad keys, F1 and F3 are read as xterm's; a modifier key
        // alone (57441, left Shift) is dropped.
        events = parser.feed("\x1b[57400u\x1b[57417u\x1b[P\x1b[13~\x1b[57441u\x1b[15~");
        REQUIRE(events.size() == 3);
        CHECK(events[0] == InputEvent{.kind = InputEvent::Kind::KeypadKey, .key = 'q'});
        CHECK(events[1] == InputEvent{.kind = InputEvent::Kind::CursorKey, .key = 'D'});
        CHECK(events[2].bytes == "\x1bOP\x1bOR\x1b[15~");
        // Split anywhere.
        std::vector<InputEvent> split;
        for (const char c : std::string("\x1b[13;5u")) {
            for (auto& e : parser.feed(std::string(1, c))) {
                split.push_back(e);
            }
        }
        REQUIRE(split.size() == 1);
        CHECK(split[0] == key(13, 5));
    }

    TEST_CASE("keys are encoded for the worker's keyboard protocol") {
        const auto key = [](char32_t code, int modifier, char32_t shifted = 0) {
            return InputEvent{.kind = InputEvent::Kind::Key,
                              .modifier = modifier,
                              .code = code,
                              .shifted = shifted};
        };
        const WorkerModes legacy;
        const WorkerModes kitty{.kitty_keyboard_flags = 1};
        const WorkerModes other_keys_2{.modify_other_keys = 2};
        const WorkerModes other_keys_1{.modify_other_keys = 1};
        struct Row {
            InputEvent key;
            std::string legacy, kitty, other_keys_2, other_keys_1;
        };
        const std::vector<Row> table = {
            // Shift+Enter, Ctrl+Enter, Alt+Enter, Enter.
            {key(13, 2), "\r", "\x1b[13;2u", "\x1b[27;2;13~", "\x1b[27;2;13~"},
            {key(13, 5), "\r", "\x1b[13;5u", "\x1b[27;5;13~", "\x1b[27;5;13~"},
            {key(13, 3), "\x1b\r", "\x1b[13;3u", "\x1b[27;3;13~", "\x1b\r"},
            {key(13, 1), "\r", "\r", "\r", "\r"},
            // Escape, Alt+Escape.
            {key(27, 1), "\x1b", "\x1b[27u", "\x1b", "\x1b"},
            {key(27, 3), "\x1b\x1b", "\x1b[27;3u", "\x1b[27;3;27~", "\x1b\x1b"},
            // Tab, Shift+Tab, Ctrl+Tab; Backspace, Ctrl+Backspace.
            {key(9, 1), "\t", "\t", "\t", "\t"},
            {key(9, 2), "\x1b[Z", "\x1b[9;2u", "\x1b[27;2;9~", "\x1b[Z"},
            {key(9, 5), "\t", "\x1b[9;5u", "\x1b[27;5;9~", "\x1b[27;5;9~"},
            {key(127, 1), "\x7f", "\x7f", "\x7f", "\x7f"},
            {key(127, 5), "\x08", "\x1b[127;5u", "\x1b[27;5;127~", "\x1b[27;5;127~"},
            // Ctrl+b, Ctrl+Shift+a, Alt+x, Alt+Shift+x, Ctrl+Alt+b.
            {key(U'b', 5), "\x02", "\x1b[98;5u", "\x1b[27;5;98~", "\x02"},
            {key(U'a', 6, U'A'), "\x01", "\x1b[97;6u", "\x1b[27;6;65~", "\x1b[27;6;65~"},
            {key(U'x', 3), "\x1bx", "\x1b[120;3u", "\x1b[27;3;120~", "\x1bx"},
            {key(U'x', 4, U'X'), "\x1bX", "\x1b[120;4u", "\x1b[27;4;88~", "\x1bX"},
            {key(U'b', 7), "\x1b\x02", "\x1b[98;7u", "\x1b[27;7;98~", "\x1b\x02"},
            // Shift+a, a: text in every mode. Ctrl+1 has no control byte.
            {key(U'a', 2, U'A'), "A", "A", "A", "A"},
            {key(U'a', 1), "a", "a", "a", "a"},
            {key(U'1', 5), "1", "\x1b[49;5u", "\x1b[27;5;49~", "\x1b[27;5;49~"},
            // Alt+Shift+1 with its shifted key; Ctrl+Space; Alt+é.
            {key(U'1', 4, U'!'), "\x1b!", "\x1b[49;4u", "\x1b[27;4;33~", "\x1b!"},
            {key(U' ', 5), std::string(1, '\0'), "\x1b[32;5u", "\x1b[27;5;32~",
             std::string(1, '\0')},
            {key(U'\u00e9', 3), "\x1b\xc3\xa9", "\x1b[233;3u", "\x1b[27;3;233~", "\x1b\xc3\xa9"},
            // Lock keys change nothing: Ctrl+c with Caps Lock and Num Lock.
            {key(U'c', 1 + 4 + 64 + 128), "\x03", "\x1b[99;5u", "\x1b[27;5;99~", "\x03"},
        };
        for (const auto& row : table) {
            INFO("key " << static_cast<std::uint32_t>(row.key.code) << " modifier "
                        << row.key.modifier);
            CHECK(encode_key(row.key, legacy) == row.legacy);
            CHECK(encode_key(row.key, kitty) == row.kitty);
            CHECK(encode_key(row.key, other_keys_2) == row.other_keys_2);
            CHECK(encode_key(row.key, other_keys_1) == row.other_keys_1);
        }
        // The kitty protocol comes first when a worker set both.
        const WorkerModes both{.kitty_keyboard_flags = 1, .modify_other_keys = 2};
        CHECK(encode_key(key(13, 2), both) == "\x1b[13;2u");
    }

    TEST_CASE("switchboard keys encodes named keys for the worker's keyboard protocol") {
        using sb::worker::encode_key;
        using sb::worker::KeyModes;
        const KeyModes legacy;
        const KeyModes kitty{.protocols = {.kitty_keyboard_flags = 1}};
        const KeyModes other_keys_2{.protocols = {.modify_other_keys = 2}};
        struct Row {
            const char* name;
            std::string legacy, kitty, other_keys_2;
        };
        const std::vector<Row> table = {
            {"S-Enter", "\r", "\x1b[13;2u", "\x1b[27;2;13~"},
            {"C-Enter", "\r", "\x1b[13;5u", "\x1b[27;5;13~"},
            {"Enter", "\r", "\r", "\r"},
            {"Escape", "\x1b", "\x1b[27u", "\x1b"},
            {"M-x", "\x1bx", "\x1b[120;3u", "\x1b[27;3;120~"},
            {"C-c", "\x03", "\x1b[99;5u", "\x1b[27;5;99~"},
            // tmux reads C-A as C-a; A alone is the shifted letter.
            {"C-A", "\x01", "\x1b[97;5u", "\x1b[27;5;97~"},
            {"A", "A", "A", "A"},
            {"BTab", "\x1b[Z", "\x1b[9;2u", "\x1b[27;2;9~"},
            {"C-Space", std::string(1, '\0'), "\x1b[32;5u", "\x1b[27;5;32~"},
            {"M-\xc3\xa9", "\x1b\xc3\xa9", "\x1b[233;3u", "\x1b[27;3;233~"},
            // Cursor and function keys and words keep their forms.
            {"C-Up", "\x1b[1;5A", "\x1b[1;5A", "\x1b[1;5A"},
            {"F5", "\x1b[15~", "\x1b[15~", "\x1b[15~"},
            {"hello", "hello", "hello", "hello"},
        };
        for (const auto& row : table) {
            INFO("key " << row.name);
            CHECK(encode_key(row.name, legacy) == row.legacy);
            CHECK(encode_key(row.name, kitty) == row.kitty);
            CHECK(encode_key(row.name, other_keys_2) == row.other_keys_2);
        }
        // What attach sends for the same key and modes.
        const InputEvent shift_enter{.kind = InputEvent::Kind::Key, .modifier = 2, .code = 13};
        CHECK(encode_key("S-Enter", kitty) ==
              sb::client::attach::encode_key(shift_enter, WorkerModes{.kitty_keyboard_flags = 1}));
    }

    TEST_CASE("keys and pastes are encoded for the worker's modes") {
        WorkerModes normal;
        WorkerModes application{.application_cursor_keys = true, .bracketed_paste = true};
        CHECK(encode_cursor_key('A', 1, normal) == "\x1b[A");
        CHECK(encode_cursor_key('A', 1, application) == "\x1bOA");
        CHECK(encode_cursor_key('D', 5, application) == "\x1b[1;5D");
        CHECK(encode_paste("hi\x1b[201~there", normal) == "hithere");
        CHECK(encode_paste("hi", application) == "\x1b[200~hi\x1b[201~");
    }

    TEST_CASE("keypad keys are told apart and sent as the worker's keypad mode wants") {
        InputParser parser;
        const auto events = parser.feed("\x1bOp\x1bOM\x1bOk");
        REQUIRE(events.size() == 3);
        CHECK(events[0] == InputEvent{.kind = InputEvent::Kind::KeypadKey, .key = 'p'});
        WorkerModes numeric;
        WorkerModes application{.application_keypad = true};
        CHECK(encode_keypad_key('p', numeric) == "0");
        CHECK(encode_keypad_key('M', numeric) == "\r");
        CHECK(encode_keypad_key('k', numeric) == "+");
        CHECK(encode_keypad_key('p', application) == "\x1bOp");
    }

    TEST_CASE("mouse events go only where the worker asked for them, in its encoding") {
        const InputEvent press{.kind = InputEvent::Kind::Mouse, .button = 0, .col = 5, .row = 2};
        const InputEvent motion{.kind = InputEvent::Kind::Mouse, .button = 35, .col = 5, .row = 2};
        CHECK(encode_mouse(press, 5, 2, WorkerModes{}).empty());
        WorkerModes sgr{.mouse = "click", .mouse_encoding = "sgr"};
        CHECK(encode_mouse(press, 3, 4, sgr) == "\x1b[<0;3;4M");
        CHECK(encode_mouse(motion, 3, 4, sgr).empty());
        WorkerModes x10{.mouse = "click"};
        CHECK(encode_mouse(press, 3, 4, x10) == "\x1b[M\x20\x23\x24");
        InputEvent release = press;
        release.release = true;
        CHECK(encode_mouse(release, 3, 4, x10) == "\x1b[M\x23\x23\x24");
    }

    TEST_CASE("the renderer draws only what changed") {
        Renderer renderer(ColorDepth::TrueColor);
        Canvas first(3, 10);
        first.put_text(0, 0, "hello", Style{});
        const auto full = renderer.render(first);
        CHECK(full.find("\x1b[2J") != std::string::npos);
        CHECK(full.find("hello") != std::string::npos);

        Canvas second = first;
        second.at(0, 1).text = "a";
        const auto delta = renderer.render(second);
        CHECK(delta.find("\x1b[2J") == std::string::npos);
        CHECK(delta.find("a") != std::string::npos);
        CHECK(delta.find("hallo") == std::string::npos);
        CHECK(delta.find("llo") == std::string::npos);

        // Nothing changed: no cells are written at all.
        const auto same = renderer.render(second);
        CHECK(same.find('a') == std::string::npos);

        renderer.invalidate();
        CHECK(renderer.render(second).find("\x1b[2J") != std::string::npos);
    }

    TEST_CASE("a character typed at the cursor is drawn as itself") {
        Renderer renderer(ColorDepth::TrueColor);
        Canvas canvas(3, 10);
        canvas.put_text(0, 0, "$ ", Style{});
        canvas.cursor = {.row = 0, .col = 2};
        renderer.render(canvas);

        canvas.put_text(0, 2, "l", Style{});
        canvas.cursor.col = 3;
        CHECK(renderer.render(canvas) == "l");
        Style bold;
        bold.attributes = Style::kBold;
        canvas.put_text(0, 3, "s", bold);
        canvas.cursor.col = 4;
        CHECK(renderer.render(canvas) == "\x1b[0;1ms\x1b[0m");
        Style faint;
        faint.attributes = Style::kFaint;
        canvas.put_text(0, 4, "d", faint);
        canvas.cursor.col = 5;
        CHECK(renderer.render(canvas) == "\x1b[0;2md\x1b[0m");
        // Nothing changed and the cursor stays: nothing to send.
        CHECK(renderer.render(canvas).empty());

        // Anything else is a framed update that places the cursor.
        canvas.put_text(0, 4, "é", Style{});
        canvas.cursor.col = 5;
        const auto wide_text = renderer.render(canvas);
        CHECK(wide_text.find("\x1b[?2026h") == 0);
        CHECK(wide_text.find("\x1b[1;6H") != std::string::npos);
        canvas.put_text(1, 0, "x", Style{});
        canvas.cursor = {.row = 1, .col = 1};
        CHECK(renderer.render(canvas).find("\x1b[2;2H") != std::string::npos);
        // Text at the cursor that leaves the cursor elsewhere.
        canvas.put_text(1, 1, "y", Style{});
        canvas.cursor = {.row = 0, .col = 0};
        CHECK(renderer.render(canvas).find("\x1b[1;1H") != std::string::npos);
        // A hidden cursor is shown again only by a framed update.
        canvas.cursor.visible = false;
        CHECK(renderer.render(canvas).find("\x1b[?25h") == std::string::npos);
        canvas.put_text(0, 0, "#", Style{});
        canvas.cursor = {.row = 0, .col = 1};
        CHECK(renderer.render(canvas).find("\x1b[?25h") != std::string::npos);
        // At the right edge the terminal's cursor waits to wrap: place it.
        canvas.put_text(2, 0, "123456789", Style{});
        canvas.cursor = {.row = 2, .col = 9};
        renderer.render(canvas);
        canvas.put_text(2, 9, "0", Style{});
        CHECK(renderer.render(canvas).find("\x1b[3;10H") != std::string::npos);
    }

    TEST_CASE("text typed at the cursor is drawn bare without comparing canvases") {
        const auto typed_cells = [](std::string_view text, Style style = Style{}) {
            std::vector<Cell> cells;
            for (const char c : text) {
                cells.push_back(Cell{.text = std::string(1, c), .width = 1, .style = style});
            }
            return cells;
        };
        Renderer renderer(ColorDepth::TrueColor);
        Canvas canvas(3, 10);
        canvas.put_text(0, 0, "$ ", Style{});
        canvas.cursor = {.row = 0, .col = 2};
        // Nothing drawn yet: the terminal's state is unknown.
        CHECK_FALSE(renderer.typed(0, 2, typed_cells("l")));
        renderer.render(canvas);

        // The bare text, and the renderer knows the terminal shows it: the
        // canvas that says the same needs nothing more.
        CHECK(renderer.typed(0, 2, typed_cells("ls")) == "ls");
        canvas.put_text(0, 2, "ls", Style{});
        canvas.cursor.col = 4;
        CHECK(renderer.render(canvas).empty());

        // Not where the terminal's cursor is, in another pen, not printable
        // ASCII, or up to the last column: refused, and nothing changes.
        CHECK_FALSE(renderer.typed(0, 5, typed_cells("x")));
        CHECK_FALSE(renderer.typed(1, 4, typed_cells("x")));
        Style bold;
        bold.attributes = Style::kBold;
        CHECK_FALSE(renderer.typed(0, 4, typed_cells("x", bold)));
        CHECK_FALSE(renderer.typed(0, 4, {Cell{.text = "é", .width = 1}}));
        CHECK_FALSE(renderer.typed(0, 4, typed_cells("\x07")));
        CHECK_FALSE(renderer.typed(0, 4, typed_cells("abcdef")));
        CHECK_FALSE(renderer.typed(0, 4, {}));
        CHECK(renderer.render(canvas).empty());
        CHECK(renderer.typed(0, 4, typed_cells("abcde")) == "abcde");
        canvas.put_text(0, 4, "abcde", Style{});
        canvas.cursor.col = 9;
        CHECK(renderer.render(canvas).empty());

        // Over or next to half of a wide glyph: refused.
        canvas.put_text(1, 0, "> ", Style{});
        canvas.at(1, 3) = Cell{.text = "界", .width = 2};
        canvas.at(1, 4) = Cell{.text = "", .width = 0};
        canvas.cursor = {.row = 1, .col = 2};
        renderer.render(canvas);
        CHECK_FALSE(renderer.typed(1, 2, typed_cells("x")));
        CHECK_FALSE(renderer.typed(1, 2, typed_cells("xy")));

        // A hidden cursor: refused (a framed update shows it again).
        canvas.cursor = {.row = 2, .col = 0, .visible = false};
        renderer.render(canvas);
        CHECK_FALSE(renderer.typed(2, 0, typed_cells("x")));

        // After invalidate() the terminal's state is unknown again.
        canvas.cursor = {.row = 2, .col = 0};
        renderer.render(canvas);
        CHECK(renderer.typed(2, 0, typed_cells("x")) == "x");
        renderer.invalidate();
        CHECK_FALSE(renderer.typed(2, 1, typed_cells("y")));
    }

    TEST_CASE("text typed at the cursor is told from every other change of a row") {
        sb::term::Screen screen(2, 10, 0);
        screen.feed("$ ");
        const auto shown_now = [&screen] {
            std::vector<sb::term::Cell> cells;
            for (int col = 0; col < screen.cols(); ++col) {
                cells.push_back(screen.screen_row(0).cell(col));
            }
            return cells;
        };
        auto shown = shown_now();
        screen.feed("ls");
        CHECK(sb::server::typed_at(screen.screen_row(0), shown, 10, 2, 4));
        // The span must hold all of what changed, and only typed text.
        CHECK_FALSE(sb::server::typed_at(screen.screen_row(0), shown, 10, 2, 3));
        CHECK_FALSE(sb::server::typed_at(screen.screen_row(0), shown, 10, 3, 4));
        // A cell never written is not typed text.
        CHECK_FALSE(sb::server::typed_at(screen.screen_row(0), shown, 10, 2, 5));
        CHECK_FALSE(sb::server::typed_at(screen.screen_row(0), shown, 10, 4, 4));
        CHECK_FALSE(sb::server::typed_at(screen.screen_row(0), shown, 10, 2, 11));
        // The row after `bytes`, against the row before them.
        const auto typed_after = [&](std::string_view bytes, int first, int end) {
            const auto before = shown_now();
            screen.feed(bytes);
            return sb::server::typed_at(screen.screen_row(0), before, 10, first, end);
        };
        // Something else on the row changed too.
        CHECK_FALSE(typed_after("x\x1b[1;1H#\x1b[1;4H", 3, 4));
        // Not ASCII, a wide glyph, a colour change of the same letter.
        CHECK_FALSE(typed_after("\xc3\xa9", 3, 4));
        CHECK_FALSE(typed_after("\xe7\x95\x8c", 4, 6));
        CHECK_FALSE(typed_after("\x1b[1;1H\x1b[31m$\x1b[0m\x1b[1;7H", 6, 7));
        // A mark on a letter typed before: not typed text.
        CHECK_FALSE(typed_after("a\xcc\x81", 6, 7));
        // Marks live beside the row, so a row that holds one anywhere is not
        // told apart cell by cell: not typed text either.
        CHECK_FALSE(typed_after("\x1b[1;8Hzz", 7, 9));
    }

    TEST_CASE("a screen row goes on the wire with its marks, wide glyphs and styles") {
        sb::term::Screen screen(2, 10, 0);
        screen.feed("ab\x1b[1me\xcc\x81\xe7\x95\x8c\x1b[0;31mx\x1b[0;2my\x1b[0m");
        const auto bytes = sb::protocol::base64_decode(sb::server::encode_screen_row(screen, 0));
        REQUIRE(bytes.has_value());
        const auto cells = sb::protocol::decode_row(*bytes);
        REQUIRE(cells.has_value());
        REQUIRE(cells->size() == 10);
        const auto& row = *cells;
        CHECK(row[0].text == "a");
        CHECK(row[1].text == "b");
        CHECK(row[1].style.is_default());
        CHECK(row[2].text == "e\xcc\x81");
        CHECK(row[2].style.attributes == WireStyle::kBold);
        CHECK(row[3].text == "\xe7\x95\x8c");
        CHECK(row[3].width == 2);
        CHECK(row[3].style.attributes == WireStyle::kBold);
        CHECK(row[4].width == 0);
        CHECK(row[4].text.empty());
        CHECK(row[5].text == "x");
        CHECK(row[5].style.attributes == 0);
        CHECK(row[5].style.foreground.kind == WireColor::Kind::Indexed);
        CHECK(row[5].style.foreground.red == 1);
        CHECK(row[6].text == "y");
        CHECK(row[6].style.attributes == WireStyle::kFaint);
        CHECK(row[7].text.empty());
        CHECK(row[7].style.is_default());
        CHECK(row[9].text.empty());
    }

    TEST_CASE("a terminal fed the renderer's frames shows each canvas") {
        // Random edits of a canvas, drawn frame by frame into the server's
        // own screen model standing in for the person's terminal.
        constexpr int rows = 4;
        constexpr int cols = 12;
        sb::term::Screen terminal(rows, cols, 0);
        Renderer renderer(ColorDepth::Palette256);
        Canvas canvas(rows, cols);
        unsigned seed = 12345;
        const auto random = [&seed](int n) {
            seed = seed * 1103515245U + 12345U;
            return static_cast<int>((seed >> 16) % static_cast<unsigned>(n));
        };
        const auto style_of = [](int pick) {
            Style style;
            if (pick == 1) {
                style.attributes = Style::kBold;
            } else if (pick == 2) {
                style.foreground = {.kind = WireColor::Kind::Indexed, .red = 3};
            }
            return style;
        };
        // Writes a cell, keeping wide glyphs whole as a pane's rows do.
        const auto put = [&canvas](int row, int col, Cell cell) {
            const auto clear_wide_at = [&canvas, row](int c) {
                if (c < 0 || c >= canvas.cols) {
                    return;
                }
                Cell& here = canvas.at(row, c);
                if (here.width == 2 && c + 1 < canvas.cols) {
                    canvas.at(row, c + 1) = Cell{.style = canvas.at(row, c + 1).style};
                }
                if (here.width == 0 && c > 0) {
                    canvas.at(row, c - 1) = Cell{.style = canvas.at(row, c - 1).style};
                }
                here = Cell{.style = here.style};
            };
            clear_wide_at(col);
            if (cell.width == 2) {
                clear_wide_at(col + 1);
                canvas.at(row, col + 1) = Cell{.text = "", .width = 0, .style = cell.style};
            }
            canvas.at(row, col) = std::move(cell);
        };
        for (int step = 0; step < 400; ++step) {
            const int edits = 1 + random(4);
            for (int e = 0; e < edits; ++e) {
                const int row = random(rows);
                const int col = random(cols);
                const int kind = random(10);
                const Style style = style_of(random(3));
                if (kind < 6) {
                    put(row, col,
                        Cell{.text = std::string(1, static_cast<char>('a' + random(26))),
                             .width = 1,
                             .style = style});
                } else if (kind < 8) {
                    put(row, col, Cell{.text = kind == 6 ? " " : "", .width = 1, .style = Style{}});
                } else if (col + 1 < cols) {
                    put(row, col, Cell{.text = "界", .width = 2, .style = style});
                }
            }
            if (random(3) == 0) {
                // Typing: a letter at the cursor, the cursor after it.
                const int row = canvas.cursor.row;
                const int col = canvas.cursor.col;
                if (col + 1 < cols) {
                    put(row, col, Cell{.text = "k", .width = 1, .style = Style{}});
                    canvas.cursor.col = col + 1;
                }
            } else {
                canvas.cursor.row = random(rows);
                canvas.cursor.col = random(cols);
            }
            canvas.cursor.visible = random(8) != 0;
            terminal.feed(renderer.render(canvas));
            for (int row = 0; row < rows; ++row) {
                for (int col = 0; col < cols; ++col) {
                    const Cell& want = canvas.at(row, col);
                    if (want.width == 0) {
                        continue;
                    }
                    const auto shown = terminal.cell(row, col);
                    INFO("step ", step, " row ", row, " col ", col);
                    if (want.text.empty() || want.text == " ") {
                        CHECK((shown.code_point == 0 || shown.code_point == U' '));
                    } else if (want.text == "界") {
                        CHECK(shown.code_point == U'界');
                        CHECK(shown.width == 2);
                    } else {
                        CHECK(shown.code_point == static_cast<char32_t>(want.text[0]));
                    }
                    CHECK(shown.style.attributes.bold ==
                          ((want.style.attributes & Style::kBold) != 0));
                    CHECK((shown.style.foreground.kind() == sb::term::Color::Kind::Indexed) ==
                          (want.style.foreground.kind == WireColor::Kind::Indexed));
                }
            }
            INFO("step ", step);
            CHECK(terminal.cursor().row == canvas.cursor.row);
            CHECK(terminal.cursor().col == canvas.cursor.col);
            CHECK(terminal.cursor().visible == canvas.cursor.visible);
        }
    }

    TEST_CASE("the renderer compares only the rows it is told changed") {
        Renderer renderer(ColorDepth::TrueColor);
        Canvas first(3, 10);
        first.put_text(0, 0, "top", Style{});
        first.put_text(2, 0, "bottom", Style{});
        renderer.render(first);
        Canvas next = first;
        next.put_text(0, 0, "TOP", Style{});
        next.put_text(2, 0, "BOTTOM", Style{});
        const std::vector<std::uint8_t> rows = {0, 0, 1};
        const auto delta = renderer.render(next, &rows);
        CHECK(delta.find("BOTTOM") != std::string::npos);
        CHECK(delta.find("TOP") == std::string::npos);
        // Row 0 was not compared, so it is still drawn as "top" and a full
        // comparison finds it.
        CHECK(renderer.render(next).find("TOP") != std::string::npos);
        // An invalidated renderer draws every row whatever it is told.
        renderer.invalidate();
        const auto whole = renderer.render(next, &rows);
        CHECK(whole.find("TOP") != std::string::npos);
        CHECK(whole.find("BOTTOM") != std::string::npos);
    }

    TEST_CASE("the renderer compares only the columns it is told changed") {
        Renderer renderer(ColorDepth::TrueColor);
        Canvas first(2, 10);
        first.put_text(0, 0, "abcdefghij", Style{});
        renderer.render(first);
        Canvas next = first;
        next.put_text(0, 1, "B", Style{});
        next.put_text(0, 7, "H", Style{});
        const std::vector<std::uint8_t> rows = {1, 0};
        const std::vector<std::pair<int, int>> spans = {{5, 9}, {0, 0}};
        const auto delta = renderer.render(next, &rows, &spans);
        CHECK(delta.find('H') != std::string::npos);
        CHECK(delta.find('B') == std::string::npos);
        // Column 1 was not compared: a full comparison finds it.
        CHECK(renderer.render(next).find('B') != std::string::npos);
    }

    TEST_CASE("colours are downgraded for terminals that lack them") {
        Canvas canvas(1, 4);
        Style red;
        red.foreground = {.kind = WireColor::Kind::Rgb, .red = 250, .green = 10, .blue = 10};
        canvas.put_text(0, 0, "r", red);
        CHECK(Renderer(ColorDepth::TrueColor).render(canvas).find("38;2;250;10;10") !=
              std::string::npos);
        CHECK(Renderer(ColorDepth::Palette256).render(canvas).find("38;5;196") !=
              std::string::npos);
        CHECK(Renderer(ColorDepth::Ansi16).render(canvas).find(";91m") != std::string::npos);
        CHECK(detect_color_depth("truecolor", "xterm") == ColorDepth::TrueColor);
        CHECK(detect_color_depth(nullptr, "xterm-256color") == ColorDepth::Palette256);
        CHECK(detect_color_depth(nullptr, "vt100") == ColorDepth::Ansi16);
    }

    TEST_CASE("a pane model applies full frames and then changed rows") {
        std::vector<WireCell> row(4);
        row[0].text = "A";
        const auto line = sb::protocol::base64_encode(sb::protocol::encode_row(row));
        PaneModel model;
        REQUIRE(model.apply({{"cols", 4},
                             {"rows", 2},
                             {"full", true},
                             {"lines", {{0, line}, {1, line}}},
                             {"cursor", {{"row", 1}, {"col", 2}, {"visible", true}}},
                             {"title", "t"},
                             {"modes", {{"application_cursor_keys", true}}}}));
        CHECK(PaneModel::text(model.lines[1]) == "A   ");
        CHECK(model.cursor.row == 1);
        CHECK(model.modes.application_cursor_keys);
        row[0].text = "B";
        const auto changed = sb::protocol::base64_encode(sb::protocol::encode_row(row));
        CHECK(model.changed_all);
        REQUIRE(model.apply({{"cols", 4}, {"rows", 2}, {"lines", {{1, changed}}}}));
        CHECK_FALSE(model.changed_all);
        CHECK(model.changed_rows == std::vector<int>{1});
        CHECK(model.changed_spans == std::vector<std::pair<int, int>>{{0, 1}});
        CHECK(model.title_changed);
        CHECK(PaneModel::text(model.lines[0]) == "A   ");
        CHECK(PaneModel::text(model.lines[1]) == "B   ");
        // Only the cells that differ are in the span; a row sent again as it
        // was is not a change.
        row[2].text = "c";
        row[3].text = "d";
        const auto typed = sb::protocol::base64_encode(sb::protocol::encode_row(row));
        REQUIRE(model.apply({{"cols", 4}, {"rows", 2}, {"lines", {{0, line}, {1, typed}}}}));
        CHECK(model.changed_rows == std::vector<int>{1});
        CHECK(model.changed_spans == std::vector<std::pair<int, int>>{{2, 4}});
        CHECK(PaneModel::text(model.lines[1]) == "B cd");
        CHECK_FALSE(model.apply({{"cols", 0}, {"rows", 2}}));

        // A frame from the server itself may carry only the changed cells.
        sb::protocol::ScreenFrame cells_only{.cols = 4, .rows = 2};
        cells_only.lines.emplace_back(0, std::vector<WireCell>{{.text = "x"}, {.text = "y"}});
        cells_only.spans.emplace_back(1, 3);
        REQUIRE(model.apply(sb::protocol::ScreenFrame(cells_only)));
        CHECK(PaneModel::text(model.lines[0]) == "Axy ");
        CHECK(model.changed_rows == std::vector<int>{0});
        CHECK(model.changed_spans == std::vector<std::pair<int, int>>{{1, 3}});
        // Not for rows of another size, nor with cells that do not fit.
        auto resized = cells_only;
        resized.cols = 5;
        CHECK_FALSE(model.apply(std::move(resized)));
        auto unmatched = cells_only;
        unmatched.spans.clear();
        unmatched.spans.emplace_back(1, 4);
        REQUIRE(model.apply(std::move(unmatched)));
        CHECK(model.changed_rows.empty());
        CHECK(PaneModel::text(model.lines[0]) == "Axy ");
    }

    TEST_CASE("new scrollback lines are found after where the client's copy ends") {
        const auto lines = [](std::initializer_list<const char*> texts) {
            std::vector<std::vector<WireCell>> out;
            for (const char* text : texts) {
                std::vector<WireCell> row(3);
                row[0].text = text;
                out.push_back(row);
            }
            return out;
        };
        // The copy ends with "a b c d"; the server's newest lines end with
        // "e f": two are new.
        const auto known = lines({"a", "b", "c", "d", "screen"});
        CHECK(new_line_count(known, 4, lines({"a", "b", "c", "d", "e", "f"}), false) == 2u);
        // Part of the scrollback (its oldest lines not fetched) lines up
        // over the whole window compared: here the copy's two lines.
        CHECK(new_line_count(lines({"c", "d", "screen"}), 2, lines({"b", "c", "d", "e", "f"}),
                             false) == 2u);
        // Fewer lines than the window match only when they are all there is.
        CHECK_FALSE(new_line_count(known, 4, lines({"c", "d"}), false).has_value());
        CHECK(new_line_count(known, 4, lines({"c", "d"}), true) == 0u);
        // Repeated output: the fewest new lines that line up is taken.
        const auto same = lines({"x", "x", "x"});
        CHECK(new_line_count(same, 3, lines({"x", "x", "x", "x"}), false) == 0u);
        // No overlap in a part of the scrollback: ask for more. In all of it:
        // everything is new to the client (the caller takes every line).
        CHECK_FALSE(new_line_count(known, 4, lines({"e", "f"}), false).has_value());
        CHECK_FALSE(new_line_count(known, 4, lines({"e", "f"}), true).has_value());
        // A copy with no scrollback: every fetched line is new.
        CHECK(new_line_count(known, 0, lines({"e", "f"}), false) == 2u);
        // A style difference is a different line.
        auto styled = lines({"c", "d", "d"});
        styled[2][0].style.attributes = WireStyle::kBold;
        CHECK(new_line_count(known, 4, styled, true) == 1u);
    }

    TEST_CASE("a screen frame reads back from its JSON as it was") {
        sb::protocol::ScreenFrame frame{.worker = "w", .full = true, .cols = 3, .rows = 2};
        std::vector<WireCell> row(3);
        row[0].text = "界";
        row[0].width = 2;
        row[1].width = 0;
        row[2].text = "x";
        row[2].style.attributes = WireStyle::kBold;
        frame.lines = {{0, row}, {1, std::vector<WireCell>(3)}};
        frame.cursor = {.row = 1, .col = 2, .visible = false, .shape = "bar", .blink = false};
        frame.title = "t";
        frame.state = "running";
        frame.modes.mouse = "drag";
        frame.modes.kitty_keyboard_flags = 1;
        const auto back = sb::protocol::screen_frame_from_json(sb::protocol::to_json(frame));
        REQUIRE(back.has_value());
        CHECK(back->same_meta(frame));
        CHECK(back->full);
        CHECK(back->lines == frame.lines);
        // Applied to a pane, the two give the same picture.
        PaneModel from_json;
        PaneModel as_is;
        REQUIRE(from_json.apply(sb::protocol::to_json(frame)));
        REQUIRE(as_is.apply(frame));
        CHECK(from_json.lines == as_is.lines);
        CHECK(as_is.modes.mouse == "drag");
        CHECK(as_is.cursor.row == 1);
        // No size, no frame; a row that is not base64 arrives blank.
        CHECK_FALSE(sb::protocol::screen_frame_from_json({{"worker", "w"}}).has_value());
        auto broken = sb::protocol::to_json(frame);
        broken["lines"][0][1] = "not base64!";
        PaneModel blank;
        REQUIRE(blank.apply(broken));
        CHECK(PaneModel::text(blank.lines[0]) == "   ");
    }

    TEST_CASE("output to a terminal that does not take it waits until it does; a terminal gone is "
              "told once") {
        const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        REQUIRE(master >= 0);
        REQUIRE(::grantpt(master) == 0);
        REQUIRE(::unlockpt(master) == 0);
        int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        REQUIRE(slave >= 0);
        termios raw{};
        ::tcgetattr(slave, &raw);
        ::cfmakeraw(&raw);
        ::tcsetattr(slave, TCSANOW, &raw);
        uv_loop_t loop;
        uv_loop_init(&loop);
        {
            TerminalOutput output(&loop, slave, false);
            int drained = 0;
            int failed = 0;
            output.on_drained([&] { ++drained; });
            output.on_failed([&] { ++failed; });
            // Nobody reads the master: what the terminal cannot take waits.
            const std::string frame(256 * 1024, 'x');
            output.write(frame);
            CHECK(output.busy());
            // Read it all: the rest goes out as the terminal takes it.
            std::size_t read_back = 0;
            char buffer[65536];
            while (output.busy() || read_back < frame.size()) {
                uv_run(&loop, UV_RUN_NOWAIT);
                const ssize_t n = ::read(master, buffer, sizeof buffer);
                if (n > 0) {
                    read_back += static_cast<std::size_t>(n);
                }
                if (n <= 0 && !output.busy() && read_back >= frame.size()) {
                    break;
                }
            }
            uv_run(&loop, UV_RUN_NOWAIT);
            CHECK(read_back == frame.size());
            CHECK(drained == 1);
            CHECK(failed == 0);
            // The terminal goes away: said once, nothing is kept.
            ::close(master);
            output.write("gone");
            output.write("still gone");
            CHECK(failed == 1);
            CHECK_FALSE(output.busy());
        }
        ::close(slave);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
}

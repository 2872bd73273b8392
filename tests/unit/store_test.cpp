#include <fstream>
#include <iterator>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "delivery/store.hpp"
#include "process.hpp"

using namespace std::chrono_literals;
using sb::delivery::Delivery;
using sb::delivery::Durability;
using sb::delivery::history_entry;
using sb::delivery::Outcome;
using sb::delivery::Stage;
using sb::delivery::Store;
using sb::delivery::SystemClock;

namespace {

// The deliveries table as schema 1 made it, for the migration tests.
const std::string schema_1_table = R"sql(
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT, sender TEXT NOT NULL,
    recipient TEXT NOT NULL, body TEXT NOT NULL, removed_bytes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL CHECK (stage IN ('queued', 'injecting', 'done')), injected_at INTEGER,
    outcome TEXT CHECK (outcome IN ('verified', 'unverified', 'dropped')), reason TEXT,
    finished_at INTEGER, latency_ms INTEGER);
)sql";

std::unique_ptr<Store> open_store(const std::filesystem::path& file) {
    auto opened = Store::open(file, Durability::Process);
    if (auto* error = std::get_if<std::string>(&opened)) {
        FAIL("the store did not open: " << *error);
    }
    return std::move(std::get<std::unique_ptr<Store>>(opened));
}

std::string refusal(const std::filesystem::path& file) {
    auto opened = Store::open(file, Durability::Process);
    if (auto* error = std::get_if<std::string>(&opened)) {
        return *error;
    }
    return "(opened)";
}

Delivery make(std::uint64_t number, const std::string& to, const std::string& body,
              const std::string& key = "") {
    Delivery d;
    d.id = "d-" + std::to_string(number);
    d.from = "alice";
    d.to = to;
    d.body = body;
    d.key = key;
    d.created_at =
        sb::delivery::SystemClock::time_point(std::chrono::milliseconds(1'700'000'000'123));
    d.removed_bytes = 3;
    return d;
}

std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void exec(sqlite3* db, const char* sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << text);
}

// Runs `sql` on the database at `file` through a connection of its own.
void exec_file(const std::filesystem::path& file, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    exec(db, sql);
    sqlite3_close(db);
}

long long pragma(const std::filesystem::path& file, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const long long value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

// Another connection that holds the write lock, as a second program (or a
// stuck disk) would: the store's commits fail until it lets go.
class WriteLock {
public:
    explicit WriteLock(const std::filesystem::path& file) {
        REQUIRE(sqlite3_open(file.c_str(), &db_) == SQLITE_OK);
        exec(db_, "BEGIN IMMEDIATE");
    }
    ~WriteLock() { sqlite3_close(db_); }
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;
    void release() { exec(db_, "ROLLBACK"); }

private:
    sqlite3* db_ = nullptr;
};

} // namespace

TEST_SUITE("store") {
    TEST_CASE("a new store is empty and keeps what is committed, in order") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        {
            auto store = open_store(file);
            CHECK(store->last_id() == 0);
            CHECK(store->unfinished().empty());
            REQUIRE_FALSE(store->commit({make(1, "bob", "héllo\nworld", "k-1"),
                                         make(2, "carol", "two"), make(3, "bob", "three")},
                                        {}));
        }
        auto store = open_store(file);
        CHECK(store->last_id() == 3);
        const auto open = store->unfinished();
        REQUIRE(open.size() == 3);
        CHECK(open[0].id == "d-1");
        CHECK(open[0].from == "alice");
        CHECK(open[0].to == "bob");
        CHECK(open[0].body == "héllo\nworld");
        CHECK(open[0].key == "k-1");
        CHECK(open[0].removed_bytes == 3);
        CHECK(open[0].created_at == make(1, "", "").created_at);
        CHECK(open[0].stage == Stage::Queued);
        CHECK(open[1].id == "d-2");
        CHECK(open[2].id == "d-3");
        CHECK(open[1].key.empty());
        CHECK(pragma(file, "PRAGMA user_version") == Store::schema_version);
        // Only its owner may read the messages in it.
        const auto mode = std::filesystem::status(file).permissions();
        CHECK((mode & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    }

    TEST_CASE("transitions: injecting, then an outcome moves a delivery to the history") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        auto store = open_store(file);
        auto d = make(7, "bob", "body");
        REQUIRE_FALSE(store->commit({d}, {}));

        d.stage = Stage::Injecting;
        d.attempts = 1;
        d.injected_wall = sb::delivery::SystemClock::now();
        REQUIRE_FALSE(store->commit({}, {d}));
        auto open = store->unfinished();
        REQUIRE(open.size() == 1);
        CHECK(open[0].stage == Stage::Injecting);
        CHECK(open[0].attempts == 1);

        // A failed attempt goes back to the queue with its count.
        d.stage = Stage::Queued;
        REQUIRE_FALSE(store->record(d));
        open = store->unfinished();
        REQUIRE(open.size() == 1);
        CHECK(open[0].stage == Stage::Queued);
        CHECK(open[0].attempts == 1);

        d.stage = Stage::Done;
        d.attempts = 2;
        d.outcome = Outcome::Verified;
        d.latency_ms = 42;
        d.finished_at = sb::delivery::SystemClock::now();
        REQUIRE_FALSE(store->record(d));
        CHECK(store->unfinished().empty());
        const auto history = store->history("", sb::delivery::SystemClock::time_point{});
        REQUIRE(history.size() == 1);
        CHECK(history[0].id == "d-7");
        CHECK(history[0].outcome == Outcome::Verified);
        CHECK(history[0].latency_ms == 42);
        CHECK(history[0].attempts == 2);
        CHECK(store->history("carol", sb::delivery::SystemClock::time_point{}).empty());
        CHECK(store->history("", sb::delivery::SystemClock::now() + 1h).empty());
    }

    TEST_CASE("pruning forgets finished deliveries but never reuses an id") {
        sb::test::TempDir dir;
        auto store = open_store(dir.path() / "deliveries.db");
        auto done = make(1, "bob", "old");
        auto open = make(2, "bob", "waiting");
        REQUIRE_FALSE(store->commit({done, open}, {}));
        done.outcome = Outcome::Dropped;
        done.reason = "cancelled";
        done.finished_at = sb::delivery::SystemClock::now() - 8 * 24h;
        REQUIRE_FALSE(store->record(done));
        REQUIRE_FALSE(store->prune(sb::delivery::SystemClock::now() - 7 * 24h));
        CHECK(store->history("", sb::delivery::SystemClock::time_point{}).empty());
        REQUIRE(store->unfinished().size() == 1);
        // Even with every row gone, numbering goes on.
        open.outcome = Outcome::Verified;
        open.finished_at = sb::delivery::SystemClock::now() - 8 * 24h;
        REQUIRE_FALSE(store->record(open));
        REQUIRE_FALSE(store->prune(sb::delivery::SystemClock::now()));
        CHECK(store->last_id() == 2);
    }

    TEST_CASE("idempotency keys are found within their window") {
        sb::test::TempDir dir;
        auto store = open_store(dir.path() / "deliveries.db");
        auto a = make(1, "bob", "x", "retry-me");
        auto b = make(2, "carol", "x", "retry-me");
        a.created_at = b.created_at = sb::delivery::SystemClock::now();
        REQUIRE_FALSE(store->commit({a, b}, {}));
        const auto found = store->find_key("retry-me", sb::delivery::SystemClock::now() - 24h);
        REQUIRE(found.size() == 2);
        CHECK(found[0].id == "d-1");
        CHECK(found[0].to == "bob");
        CHECK(found[1].to == "carol");
        CHECK(store->find_key("retry-me", sb::delivery::SystemClock::now() + 1s).empty());
        CHECK(store->find_key("other", sb::delivery::SystemClock::now() - 24h).empty());
    }

    TEST_CASE("a failed commit saves nothing; a failed record is kept and saved later") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        auto store = open_store(file);
        auto first = make(1, "bob", "first");
        REQUIRE_FALSE(store->commit({first}, {}));

        WriteLock lock(file);
        const auto refused = store->commit({make(2, "bob", "second")}, {});
        REQUIRE(refused);
        CHECK(refused->find("deliveries.db") != std::string::npos);
        first.outcome = Outcome::Unverified;
        first.reason = "echo not seen within 5000 ms";
        first.finished_at = sb::delivery::SystemClock::now();
        CHECK(store->record(first));
        CHECK(store->dirty());
        CHECK(store->flush());

        lock.release();
        CHECK_FALSE(store->flush());
        CHECK_FALSE(store->dirty());
        CHECK(store->unfinished().empty());
        CHECK(store->last_id() == 1);
        const auto history = store->history("", sb::delivery::SystemClock::time_point{});
        REQUIRE(history.size() == 1);
        CHECK(history[0].outcome == Outcome::Unverified);
        CHECK(history[0].reason == "echo not seen within 5000 ms");
    }

    TEST_CASE("what record() kept is saved with the next commit") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        auto store = open_store(file);
        auto first = make(1, "bob", "first");
        REQUIRE_FALSE(store->commit({first}, {}));
        {
            WriteLock lock(file);
            first.outcome = Outcome::Verified;
            first.finished_at = sb::delivery::SystemClock::now();
            CHECK(store->record(first));
        }
        REQUIRE_FALSE(store->commit({make(2, "bob", "second")}, {}));
        CHECK_FALSE(store->dirty());
        const auto open = store->unfinished();
        REQUIRE(open.size() == 1);
        CHECK(open[0].id == "d-2");
    }

    TEST_CASE("stage() writes nothing; the next commit or a read saves what it kept, the latest "
              "per delivery") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        auto store = open_store(file);
        auto first = make(1, "bob", "first");
        auto second = make(2, "carol", "second");
        REQUIRE_FALSE(store->commit({first, second}, {}));
        const auto saved = [&](const char* outcome) {
            return pragma(file, (std::string("SELECT count(*) FROM deliveries WHERE outcome = '") +
                                 outcome + "'")
                                    .c_str());
        };

        first.outcome = Outcome::Unverified;
        first.finished_at = sb::delivery::SystemClock::now();
        store->stage(first);
        first.outcome = Outcome::Verified;
        store->stage(first);
        second.outcome = Outcome::Verified;
        second.finished_at = sb::delivery::SystemClock::now();
        store->stage(second);
        CHECK(store->dirty());
        // Another connection (a crash now) sees none of it.
        CHECK(saved("verified") == 0);
        CHECK(saved("unverified") == 0);

        // The next commit carries both, as they were last staged.
        REQUIRE_FALSE(store->commit({make(3, "bob", "third")}, {}));
        CHECK_FALSE(store->dirty());
        CHECK(saved("verified") == 2);
        CHECK(saved("unverified") == 0);

        // A read saves what is staged before it reads.
        auto third = make(3, "bob", "third");
        mark_dropped(third, "cancelled");
        store->stage(third);
        CHECK(saved("dropped") == 0);
        CHECK(store->history("", sb::delivery::SystemClock::time_point{}).size() == 3);
        CHECK_FALSE(store->dirty());
        CHECK(saved("dropped") == 1);

        // What cannot be saved stays staged for a later flush.
        auto fourth = make(4, "bob", "fourth");
        REQUIRE_FALSE(store->commit({fourth}, {}));
        {
            WriteLock lock(file);
            mark_dropped(fourth, "cancelled");
            store->stage(fourth);
            CHECK(store->find("d-4").has_value());
            CHECK(store->dirty());
        }
        CHECK_FALSE(store->flush());
        CHECK(saved("dropped") == 2);
    }

    TEST_CASE("durability is SQLite's synchronous setting, in WAL mode") {
        sb::test::TempDir dir;
        auto process = Store::open(dir.path() / "process.db", Durability::Process);
        auto power = Store::open(dir.path() / "power.db", Durability::Power);
        REQUIRE(std::holds_alternative<std::unique_ptr<Store>>(process));
        REQUIRE(std::holds_alternative<std::unique_ptr<Store>>(power));
        CHECK(std::get<std::unique_ptr<Store>>(process)->synchronous() == 1); // NORMAL
        CHECK(std::get<std::unique_ptr<Store>>(power)->synchronous() == 2);   // FULL
        // WAL is a property of the file: any connection sees it.
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open((dir.path() / "power.db").c_str(), &db) == SQLITE_OK);
        sqlite3_stmt* statement = nullptr;
        REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr) ==
                SQLITE_OK);
        REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
        CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0))) ==
              "wal");
        sqlite3_finalize(statement);
        sqlite3_close(db);
    }

    TEST_CASE("a file that is not a store, is corrupt or is newer is refused and left alone") {
        sb::test::TempDir dir;
        SUBCASE("plain text") {
            const auto file = dir.path() / "deliveries.db";
            std::ofstream(file) << "these are not the deliveries you are looking for\n";
            const auto before = read_bytes(file);
            CHECK(refusal(file).find("is not a SQLite database or is corrupt") !=
                  std::string::npos);
            CHECK(read_bytes(file) == before);
        }
        SUBCASE("another program's database") {
            const auto file = dir.path() / "deliveries.db";
            exec_file(file, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')");
            const auto before = read_bytes(file);
            CHECK(refusal(file).find("of another program") != std::string::npos);
            CHECK(read_bytes(file) == before);
        }
        SUBCASE("a newer schema") {
            const auto file = dir.path() / "deliveries.db";
            open_store(file).reset();
            exec_file(file, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99");
            const auto before = read_bytes(file);
            const auto error = refusal(file);
            CHECK(error.find("newer switchboard (store schema 99; this one reads up to " +
                             std::to_string(Store::schema_version) + ")") != std::string::npos);
            CHECK(read_bytes(file) == before);
        }
        SUBCASE("corrupt pages") {
            const auto file = dir.path() / "deliveries.db";
            {
                auto store = open_store(file);
                std::vector<Delivery> many;
                for (int i = 1; i <= 200; ++i) {
                    many.push_back(
                        make(static_cast<std::uint64_t>(i), "bob", std::string(500, 'x')));
                }
                REQUIRE_FALSE(store->commit(many, {}));
            }
            exec_file(file, "PRAGMA journal_mode = DELETE");
            auto bytes = read_bytes(file);
            REQUIRE(bytes.size() > 8 * 4096);
            // Scribble over the second page onwards: b-tree pages, not the header.
            for (std::size_t i = 4096; i < 8 * 4096; ++i) {
                bytes[i] = static_cast<char>(i * 7);
            }
            std::ofstream(file, std::ios::binary) << bytes;
            const auto error = refusal(file);
            CHECK((error.find("is corrupt") != std::string::npos ||
                   error.find("is not a SQLite database or is corrupt") != std::string::npos));
            CHECK(error.find("mv ") != std::string::npos);
            CHECK(read_bytes(file) == bytes);
        }
    }

    TEST_CASE("migration: an empty file becomes the current schema; a current store is not "
              "migrated again") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        std::ofstream(file).close();
        open_store(file).reset();
        CHECK(pragma(file, "PRAGMA user_version") == Store::schema_version);
        CHECK(pragma(file, "PRAGMA application_id") == 0x53424453);
        {
            auto store = open_store(file);
            REQUIRE_FALSE(store->commit({make(1, "bob", "kept")}, {}));
        }
        auto store = open_store(file);
        CHECK(store->unfinished().size() == 1);
    }

    TEST_CASE("delivery ids read back as numbers") {
        CHECK(sb::delivery::id_number("d-42") == 42);
        CHECK(sb::delivery::id_number("d-") == 0);
        CHECK(sb::delivery::id_number("d-4x") == 0);
        CHECK(sb::delivery::id_number("x-4") == 0);
    }

    TEST_CASE("migration: a schema 1 store gains the inbox, expiry and reply columns and keeps "
              "its deliveries") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        // Schema 1 as switchboard 0.x wrote it.
        exec_file(file, (schema_1_table + R"sql(
PRAGMA journal_mode = WAL;
INSERT INTO deliveries (sender, recipient, body, created_at, stage)
    VALUES ('alice', 'bob', 'old', 1700000000000, 'queued');
PRAGMA user_version = 1;
PRAGMA application_id = 1396851795;
)sql")
                            .c_str());
        auto store = open_store(file);
        CHECK(pragma(file, "PRAGMA user_version") == Store::schema_version);
        const auto open = store->unfinished();
        REQUIRE(open.size() == 1);
        CHECK(open[0].body == "old");
        CHECK(open[0].inbox_reason.empty());
        CHECK(open[0].expires_at.time_since_epoch().count() == 0);
        CHECK(open[0].replies == 0);
    }

    TEST_CASE("the inbox and expiry: kept with the delivery, moved to a worker by an update") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        const auto later =
            sb::delivery::SystemClock::time_point(std::chrono::milliseconds(1'700'000'500'000));
        {
            auto store = open_store(file);
            auto inboxed = make(1, "gone", "for the inbox");
            inboxed.inbox_reason = "worker_gone";
            inboxed.inboxed_at = later;
            auto timed = make(2, "bob", "soon stale");
            timed.expires_at = later;
            REQUIRE_FALSE(store->commit({inboxed, timed}, {}));
        }
        {
            auto store = open_store(file);
            auto open = store->unfinished();
            REQUIRE(open.size() == 2);
            CHECK(open[0].inbox_reason == "worker_gone");
            CHECK(open[0].to == "gone");
            CHECK(open[0].inboxed_at == later);
            CHECK(open[1].inbox_reason.empty());
            CHECK(open[1].expires_at == later);
            CHECK(sb::delivery::expired(open[1], later));
            CHECK_FALSE(sb::delivery::expired(open[1], later - 1ms));
            CHECK_FALSE(sb::delivery::expired(open[0], later + 1h));
            // Dispatched: the worker it now goes to, out of the inbox.
            open[0].to = "carol";
            open[0].inbox_reason.clear();
            open[0].inboxed_at = {};
            REQUIRE_FALSE(store->commit({}, {open[0]}));
        }
        auto store = open_store(file);
        const auto open = store->unfinished();
        REQUIRE(open.size() == 2);
        CHECK(open[0].to == "carol");
        CHECK(open[0].inbox_reason.empty());
        CHECK(open[0].inboxed_at.time_since_epoch().count() == 0);
    }

    TEST_CASE("replies are counted on the delivery they answer; one to a client is finished at "
              "once") {
        sb::test::TempDir dir;
        auto store = open_store(dir.path() / "deliveries.db");
        REQUIRE_FALSE(store->commit({make(1, "bob", "question")}, {}));
        auto reply = [](std::uint64_t number, const std::string& client) {
            Delivery d = make(number, "alice", "answer " + std::to_string(number));
            d.from = "bob";
            d.reply_to = "d-1";
            d.client_reply = client;
            if (!client.empty()) {
                d.stage = Stage::Done;
                d.finished_at = d.created_at;
            }
            return d;
        };
        auto first = reply(2, "kept");
        auto counted = store->commit_reply(first, {});
        REQUIRE(std::holds_alternative<Store::ReplyCount>(counted));
        CHECK(std::get<Store::ReplyCount>(counted).number == 1);
        CHECK(std::get<Store::ReplyCount>(counted).sequence == 1);
        CHECK(first.reply_number == 1);
        // The second goes to a worker: it is queued like any delivery.
        auto second = reply(3, "");
        counted = store->commit_reply(second, {});
        REQUIRE(std::holds_alternative<Store::ReplyCount>(counted));
        CHECK(std::get<Store::ReplyCount>(counted).number == 2);
        CHECK(std::get<Store::ReplyCount>(counted).sequence == 2);

        const auto original = store->find("d-1");
        REQUIRE(original);
        CHECK(original->replies == 2);
        CHECK(original->reply_to.empty());
        const auto answer = store->first_reply("d-1");
        REQUIRE(answer);
        CHECK(answer->id == "d-2");
        CHECK(answer->body == "answer 2");
        CHECK(answer->reply_to == "d-1");
        CHECK(answer->reply_number == 1);
        CHECK_FALSE(store->first_reply("d-2"));
        CHECK_FALSE(store->find("d-9"));

        // The client's reply is history, the worker's one waits to be typed.
        const auto open = store->unfinished();
        REQUIRE(open.size() == 2);
        CHECK(open[0].id == "d-1");
        CHECK(open[1].id == "d-3");
        CHECK(open[1].reply_number == 2);
        const auto done = store->history("", {});
        REQUIRE(done.size() == 1);
        const auto entry = sb::delivery::history_entry(done[0]);
        CHECK(entry["outcome"] == "kept");
        CHECK(entry["reply_to"] == "d-1");
        CHECK(entry["reply"] == 1);
        CHECK(entry["repeat"] == false);
        // A client that asks for it later gets it: it is handed over then.
        REQUIRE_FALSE(store->mark_handed("d-2"));
        CHECK(store->first_reply("d-1")->client_reply == "handed");

        // A later update of the original (its outcome) keeps the count.
        auto finished = make(1, "bob", "question");
        finished.stage = Stage::Done;
        finished.outcome = Outcome::Verified;
        finished.finished_at = finished.created_at;
        REQUIRE_FALSE(store->record(finished));
        CHECK(store->find("d-1")->replies == 2);

        // A reply to a delivery the store does not have saves nothing.
        auto stray = reply(4, "kept");
        stray.reply_to = "d-77";
        const auto refused = store->commit_reply(stray, {});
        REQUIRE(std::holds_alternative<std::string>(refused));
        CHECK(std::get<std::string>(refused).find("no delivery d-77") != std::string::npos);
        CHECK(stray.reply_number == 0);
        CHECK_FALSE(store->find("d-4"));
    }
}

TEST_SUITE("store") {
    TEST_CASE("migration 1 -> 2: a schema 1 store keeps its deliveries and gains their states") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        // What schema 1 wrote: one queued and one verified delivery.
        exec_file(file, (schema_1_table + R"sql(
PRAGMA application_id = 1396851795;
INSERT INTO deliveries (sender, recipient, body, created_at, stage)
    VALUES ('alice', 'bob', 'waiting', 1700000000000, 'queued');
INSERT INTO deliveries (sender, recipient, body, created_at, stage, outcome, finished_at)
    VALUES ('alice', 'bob', 'done', 1700000000000, 'done', 'verified', 1700000000500);
PRAGMA user_version = 1;
)sql")
                            .c_str());
        auto store = open_store(file);
        CHECK(pragma(file, "PRAGMA user_version") == Store::schema_version);
        const auto unfinished = store->unfinished();
        REQUIRE(unfinished.size() == 1);
        CHECK(unfinished[0].body == "waiting");
        const auto history = store->history("bob", SystemClock::time_point{});
        REQUIRE(history.size() == 1);
        CHECK(history[0].state.empty());
        CHECK(history_entry(history[0]).contains("state") == false);
    }

    TEST_CASE("migration 2 -> 3: the checks become comparisons; rows, indexes and the id "
              "counter stay") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        // Schema 2 as switchboard wrote it: schema 1 and the columns of the
        // inbox, expiry, replies and states; deliveries 1 and 5 are left,
        // up to 9 were given (the others pruned).
        exec_file(file, (schema_1_table + R"sql(
PRAGMA application_id = 1396851795;
ALTER TABLE deliveries ADD COLUMN inbox_reason TEXT;
ALTER TABLE deliveries ADD COLUMN inboxed_at INTEGER;
ALTER TABLE deliveries ADD COLUMN expires_at INTEGER;
ALTER TABLE deliveries ADD COLUMN reply_to INTEGER;
ALTER TABLE deliveries ADD COLUMN reply_number INTEGER;
ALTER TABLE deliveries ADD COLUMN client_reply TEXT CHECK (client_reply IN ('handed', 'kept'));
ALTER TABLE deliveries ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN replied_at INTEGER;
ALTER TABLE deliveries ADD COLUMN state_sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN state TEXT;
ALTER TABLE deliveries ADD COLUMN state_reason TEXT;
CREATE INDEX deliveries_unfinished ON deliveries (seq) WHERE outcome IS NULL;
CREATE INDEX deliveries_in_composer ON deliveries (seq) WHERE state IN ('typed', 'stalled');
INSERT INTO deliveries (seq, sender, recipient, body, created_at, stage, outcome, finished_at,
                        state, state_sequence, replies, idempotency_key)
    VALUES (1, 'alice', 'bob', 'done', 1700000000000, 'done', 'verified', 1700000000500,
            'accepted', 2, 1, 'k-1');
INSERT INTO deliveries (seq, sender, recipient, body, created_at, stage, inbox_reason, inboxed_at)
    VALUES (5, 'alice', 'bob', 'waiting', 1700000000000, 'queued', 'requested', 1700000000100);
UPDATE sqlite_sequence SET seq = 9 WHERE name = 'deliveries';
PRAGMA user_version = 2;
)sql")
                            .c_str());
        {
            auto store = open_store(file);
            CHECK(pragma(file, "PRAGMA user_version") == Store::schema_version);
            CHECK(store->last_id() == 9);
            const auto unfinished = store->unfinished();
            REQUIRE(unfinished.size() == 1);
            CHECK(unfinished[0].id == "d-5");
            CHECK(unfinished[0].inbox_reason == "requested");
            const auto history = store->history("bob", SystemClock::time_point{});
            REQUIRE(history.size() == 1);
            CHECK(history[0].state == "accepted");
            CHECK(history[0].state_sequence == 2);
            CHECK(history[0].replies == 1);
            CHECK(store->find_key("k-1", SystemClock::time_point{}).size() == 1);
            REQUIRE_FALSE(store->commit({make(10, "bob", "next")}, {}));
        }
        CHECK(pragma(file, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE "
                           "'deliveries_%'") == 5);
        CHECK(pragma(file, "SELECT count(*) FROM sqlite_master WHERE name = 'deliveries_3'") == 0);
        // The checks still refuse what is not a stage or an outcome...
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "UPDATE deliveries SET stage = 'lost' WHERE seq = 5", nullptr,
                           nullptr, nullptr) == SQLITE_CONSTRAINT);
        CHECK(sqlite3_exec(db, "UPDATE deliveries SET outcome = 'maybe' WHERE seq = 5", nullptr,
                           nullptr, nullptr) == SQLITE_CONSTRAINT);
        // ...and the store's writes make no temporary b-tree to check them.
        sqlite3_stmt* explain = nullptr;
        REQUIRE(sqlite3_prepare_v2(db,
                                   "EXPLAIN UPDATE deliveries SET stage = ?2, outcome = ?3, "
                                   "client_reply = ?4 WHERE seq = ?1",
                                   -1, &explain, nullptr) == SQLITE_OK);
        int ephemeral = 0;
        while (sqlite3_step(explain) == SQLITE_ROW) {
            const auto* opcode = reinterpret_cast<const char*>(sqlite3_column_text(explain, 1));
            ephemeral += std::string(opcode) == "OpenEphemeral" ? 1 : 0;
        }
        sqlite3_finalize(explain);
        sqlite3_close(db);
        CHECK(ephemeral == 0);
    }

    TEST_CASE("a delivery typed but never submitted is unfinished; a submitted one is not") {
        sb::test::TempDir dir;
        const auto file = dir.path() / "deliveries.db";
        auto store = open_store(file);
        auto typed = make(1, "bob", "typed, still in the composer");
        auto stalled = make(2, "bob", "stalled in the composer");
        auto taken = make(3, "bob", "submitted");
        auto ignored = make(4, "bob", "submitted, never taken");
        REQUIRE_FALSE(store->commit({typed, stalled, taken, ignored}, {}));
        for (auto* d : {&typed, &stalled, &taken, &ignored}) {
            d->outcome = Outcome::Verified;
            d->stage = Stage::Done;
            d->finished_at = SystemClock::now();
        }
        typed.state = "typed";
        stalled.state = "stalled";
        stalled.state_reason = "not_submitted";
        stalled.state_sequence = 1;
        taken.state = "accepted";
        taken.state_sequence = 2;
        ignored.state = "stalled";
        ignored.state_reason = "not_accepted";
        ignored.state_sequence = 2;
        REQUIRE_FALSE(store->commit({}, {typed, stalled, taken, ignored}));
        store.reset();
        store = open_store(file);
        const auto unfinished = store->unfinished();
        REQUIRE(unfinished.size() == 2);
        CHECK(unfinished[0].id == "d-1");
        CHECK(unfinished[0].state == "typed");
        CHECK(unfinished[1].id == "d-2");
        CHECK(unfinished[1].state_reason == "not_submitted");
        const auto history = store->history("bob", SystemClock::time_point{});
        REQUIRE(history.size() == 4);
        CHECK(history[2].state == "accepted");
        CHECK(history[2].state_sequence == 2);
        CHECK(history_entry(history[3])["state"] == "stalled");
        CHECK(history_entry(history[3])["state_reason"] == "not_accepted");
    }
}

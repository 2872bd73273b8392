#include "delivery/store.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "util/log.hpp"

namespace sb::delivery {

namespace {

std::shared_ptr<spdlog::logger> logger() {
    static auto log = sb::log::get("store");
    return log;
}

// "SBDS" in the database header: tells a switchboard store from any other
// SQLite file that happens to sit at the same path.
constexpr int application_id = 0x53424453;

// Migration N brings a database from schema N to N + 1; a new database runs
// them all. Never edit one that has shipped: add the next.
constexpr const char* migrations[] = {
    // 0 -> 1: the deliveries and their lifecycle.
    R"sql(
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    removed_bytes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL CHECK (stage IN ('queued', 'injecting', 'done')),
    injected_at INTEGER,
    outcome TEXT CHECK (outcome IN ('verified', 'unverified', 'dropped')),
    reason TEXT,
    finished_at INTEGER,
    latency_ms INTEGER
);
CREATE INDEX deliveries_unfinished ON deliveries (seq) WHERE outcome IS NULL;
CREATE INDEX deliveries_key ON deliveries (idempotency_key, created_at)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE outcome IS NOT NULL;
)sql",
    // 1 -> 2: the inbox, expiry (send --ttl) and replies (send --reply-to),
    // and where a delivery is after its echo (submitted, accepted,
    // stalled) with how many delivery_state events it has had.
    // A delivery in the inbox has no outcome and an inbox_reason; a reply to
    // a sender that is not a worker is finished at once (stage done) with a
    // client_reply instead of an outcome.
    R"sql(
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
CREATE INDEX deliveries_in_composer ON deliveries (seq) WHERE state IN ('typed', 'stalled');
CREATE INDEX deliveries_reply_to ON deliveries (reply_to) WHERE reply_to IS NOT NULL;
)sql",
    // 2 -> 3: the same table with its checks written as comparisons. SQLite
    // makes a temporary b-tree for an IN list of three or more constants
    // each time a statement checks it, and every insert and update checked
    // two: measured, a quarter of the server's time in bench/delivery.py.
    // The table is rebuilt (SQLite cannot change a check in place) with
    // its rows, its indexes and its id counter (pruned deliveries' ids are
    // never given again).
    R"sql(
CREATE TABLE deliveries_3 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    removed_bytes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL CHECK (stage = 'queued' OR stage = 'injecting' OR stage = 'done'),
    injected_at INTEGER,
    outcome TEXT CHECK (outcome = 'verified' OR outcome = 'unverified' OR outcome = 'dropped'),
    reason TEXT,
    finished_at INTEGER,
    latency_ms INTEGER,
    inbox_reason TEXT,
    inboxed_at INTEGER,
    expires_at INTEGER,
    reply_to INTEGER,
    reply_number INTEGER,
    client_reply TEXT CHECK (client_reply = 'handed' OR client_reply = 'kept'),
    replies INTEGER NOT NULL DEFAULT 0,
    replied_at INTEGER,
    state_sequence INTEGER NOT NULL DEFAULT 0,
    state TEXT,
    state_reason TEXT
);
INSERT INTO deliveries_3 SELECT seq, idempotency_key, sender, recipient, body, removed_bytes,
    created_at, attempts, stage, injected_at, outcome, reason, finished_at, latency_ms,
    inbox_reason, inboxed_at, expires_at, reply_to, reply_number, client_reply, replies,
    replied_at, state_sequence, state, state_reason FROM deliveries;
DELETE FROM sqlite_sequence WHERE name = 'deliveries_3';
UPDATE sqlite_sequence SET name = 'deliveries_3' WHERE name = 'deliveries';
DROP TABLE deliveries;
ALTER TABLE deliveries_3 RENAME TO deliveries;
CREATE INDEX deliveries_unfinished ON deliveries (seq) WHERE outcome IS NULL;
CREATE INDEX deliveries_key ON deliveries (idempotency_key, created_at)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE outcome IS NOT NULL;
CREATE INDEX deliveries_in_composer ON deliveries (seq) WHERE state IN ('typed', 'stalled');
CREATE INDEX deliveries_reply_to ON deliveries (reply_to) WHERE reply_to IS NOT NULL;
)sql",
};
static_assert(std::size(migrations) == Store::schema_version);

SystemClock::time_point from_epoch_ms(long long ms) {
    return SystemClock::time_point(std::chrono::milliseconds(ms));
}

const char* stage_name(Stage stage) {
    switch (stage) {
    case Stage::Queued:
        return "queued";
    case Stage::Injecting:
    case Stage::Verifying:
        return "injecting";
    case Stage::Done:
        return "done";
    }
    return "queued";
}

// What the store keeps of an outcome: a failed attempt is not one (it is
// queued again), so only these three end a delivery.
const char* outcome_name(Outcome outcome) {
    switch (outcome) {
    case Outcome::Verified:
        return "verified";
    case Outcome::Unverified:
        return "unverified";
    case Outcome::Dropped:
        return "dropped";
    case Outcome::None:
    case Outcome::Failed:
        return nullptr;
    }
    return nullptr;
}

std::string column_text(sqlite3_stmt* statement, int column) {
    const auto* text = sqlite3_column_text(statement, column);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text),
                             static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

// Binds text that outlives the statement's step (the caller's strings).
void bind_text(sqlite3_stmt* statement, int index, const std::string& text) {
    sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind_optional_text(sqlite3_stmt* statement, int index, const std::string& text) {
    if (text.empty()) {
        sqlite3_bind_null(statement, index);
    } else {
        bind_text(statement, index, text);
    }
}

void bind_optional_time(sqlite3_stmt* statement, int index, SystemClock::time_point t) {
    if (t.time_since_epoch().count() == 0) {
        sqlite3_bind_null(statement, index);
    } else {
        sqlite3_bind_int64(statement, index, epoch_ms(t));
    }
}

// Resets a statement whatever happens to the step that used it.
class Step {
public:
    explicit Step(sqlite3_stmt* statement) : statement_(statement) {}
    ~Step() {
        sqlite3_reset(statement_);
        sqlite3_clear_bindings(statement_);
    }
    Step(const Step&) = delete;
    Step& operator=(const Step&) = delete;
    int next() { return sqlite3_step(statement_); }

private:
    sqlite3_stmt* statement_;
};

constexpr const char* select_columns =
    "SELECT seq, idempotency_key, sender, recipient, body, removed_bytes, created_at, attempts, "
    "stage, injected_at, outcome, reason, finished_at, latency_ms, inbox_reason, inboxed_at, "
    "expires_at, reply_to, reply_number, client_reply, replies, state, state_reason, "
    "state_sequence FROM deliveries ";

// Typed and never submitted: the text sat in the composer of a process that
// may be gone, so it is queued again at start.
constexpr const char* in_composer =
    "(state = 'typed' OR (state = 'stalled' AND state_reason IN ('not_submitted', "
    "'person_typing')))";

SystemClock::time_point optional_time(sqlite3_stmt* s, int column) {
    return sqlite3_column_type(s, column) == SQLITE_NULL
               ? SystemClock::time_point{}
               : from_epoch_ms(sqlite3_column_int64(s, column));
}

Delivery read_row(sqlite3_stmt* s) {
    Delivery d;
    d.id = "d-" + std::to_string(sqlite3_column_int64(s, 0));
    d.key = column_text(s, 1);
    d.from = column_text(s, 2);
    d.to = column_text(s, 3);
    d.body = column_text(s, 4);
    d.removed_bytes = static_cast<std::size_t>(sqlite3_column_int64(s, 5));
    d.created_at = from_epoch_ms(sqlite3_column_int64(s, 6));
    d.attempts = sqlite3_column_int(s, 7);
    const std::string stage = column_text(s, 8);
    d.stage = stage == "injecting" ? Stage::Injecting
              : stage == "done"    ? Stage::Done
                                   : Stage::Queued;
    if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
        d.injected_wall = from_epoch_ms(sqlite3_column_int64(s, 9));
    }
    const std::string outcome = column_text(s, 10);
    d.outcome = outcome == "verified"     ? Outcome::Verified
                : outcome == "unverified" ? Outcome::Unverified
                : outcome == "dropped"    ? Outcome::Dropped
                                          : Outcome::None;
    d.reason = column_text(s, 11);
    if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
        d.finished_at = from_epoch_ms(sqlite3_column_int64(s, 12));
    }
    if (sqlite3_column_type(s, 13) != SQLITE_NULL) {
        d.latency_ms = sqlite3_column_int64(s, 13);
    }
    d.inbox_reason = column_text(s, 14);
    d.inboxed_at = optional_time(s, 15);
    d.expires_at = optional_time(s, 16);
    if (sqlite3_column_type(s, 17) != SQLITE_NULL) {
        d.reply_to = "d-" + std::to_string(sqlite3_column_int64(s, 17));
        d.reply_number = sqlite3_column_int(s, 18);
    }
    d.client_reply = column_text(s, 19);
    d.replies = sqlite3_column_int(s, 20);
    d.state = column_text(s, 21);
    d.state_reason = column_text(s, 22);
    d.state_sequence = sqlite3_column_int(s, 23);
    return d;
}

// One integer from a statement that returns one row (a pragma), or nullopt
// with the database's error.
std::optional<long long> query_integer(sqlite3* db, const char* sql, std::string& error) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
        error = sqlite3_errmsg(db);
        return std::nullopt;
    }
    std::optional<long long> value;
    if (const int rc = sqlite3_step(statement); rc == SQLITE_ROW) {
        value = sqlite3_column_int64(statement, 0);
    } else if (rc != SQLITE_DONE) {
        error = sqlite3_errmsg(db);
    } else {
        value = 0;
    }
    sqlite3_finalize(statement);
    return value;
}

std::optional<std::string> query_text(sqlite3* db, const char* sql, std::string& error) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
        error = sqlite3_errmsg(db);
        return std::nullopt;
    }
    std::optional<std::string> value;
    if (const int rc = sqlite3_step(statement); rc == SQLITE_ROW) {
        value = column_text(statement, 0);
    } else {
        error = sqlite3_errmsg(db);
    }
    sqlite3_finalize(statement);
    return value;
}

} // namespace

long long epoch_ms(SystemClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool expired(const Delivery& delivery, SystemClock::time_point now) {
    return delivery.expires_at.time_since_epoch().count() != 0 && now >= delivery.expires_at;
}

void mark_dropped(Delivery& delivery, std::string reason) {
    delivery.stage = Stage::Done;
    delivery.outcome = Outcome::Dropped;
    delivery.reason = std::move(reason);
    delivery.finished_at = SystemClock::now();
}

void mark_queued(Delivery& delivery) {
    delivery.stage = Stage::Queued;
    delivery.outcome = Outcome::None;
    delivery.reason.clear();
    delivery.latency_ms = -1;
    delivery.finished_at = {};
    delivery.state.clear();
    delivery.state_reason.clear();
}

std::uint64_t id_number(const std::string& id) {
    if (!id.starts_with("d-")) {
        return 0;
    }
    std::uint64_t number = 0;
    const auto* begin = id.data() + 2;
    const auto* end = id.data() + id.size();
    const auto [last, error] = std::from_chars(begin, end, number);
    return error == std::errc() && last == end ? number : 0;
}

std::string to_string(Durability durability) {
    return durability == Durability::Power ? "power" : "process";
}

std::variant<std::unique_ptr<Store>, std::string> Store::open(const std::filesystem::path& file,
                                                              Durability durability) {
    const std::string name = file.string();
    const bool in_memory = name == ":memory:";
    if (!in_memory) {
        // Messages between agents can hold secrets: the store is the user's
        // alone, and SQLite gives its -wal and -shm files the same mode.
        const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            ::close(fd);
        } else if (errno != EEXIST) {
            return "cannot create the delivery store " + name + ": " + std::strerror(errno);
        }
    }
    sqlite3* db = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(name.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return "cannot open the delivery store " + name + ": " + message;
    }
    sqlite3_extended_result_codes(db, 1);
    auto refuse = [&](const std::string& why) {
        sqlite3_close(db);
        return std::variant<std::unique_ptr<Store>, std::string>("the delivery store " + name +
                                                                 " " + why);
    };
    const std::string move_aside =
        "; nothing was changed. Move it aside to start with an empty store (its deliveries are "
        "then not delivered), e.g. mv " +
        name + " " + name + ".bad";

    // Look before writing anything: a file that is not ours, or is newer,
    // must stay exactly as it is.
    std::string error;
    const auto version = query_integer(db, "PRAGMA user_version", error);
    if (!version) {
        return refuse("is not a SQLite database or is corrupt (" + error + ")" + move_aside);
    }
    const auto app = query_integer(db, "PRAGMA application_id", error);
    const auto tables =
        query_integer(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", error);
    if (!app || !tables) {
        return refuse("cannot be read (" + error + ")" + move_aside);
    }
    if (*app != application_id && (*app != 0 || *tables != 0 || *version != 0)) {
        return refuse("is a SQLite database of another program, not a switchboard delivery "
                      "store" +
                      move_aside);
    }
    if (*version > schema_version) {
        return refuse("was written by a newer switchboard (store schema " +
                      std::to_string(*version) + "; this one reads up to " +
                      std::to_string(schema_version) +
                      "); nothing was changed. Run the newer switchboard, or move the file aside");
    }
    if (*tables != 0) {
        const auto check = query_text(db, "PRAGMA quick_check", error);
        if (!check || *check != "ok") {
            return refuse("is corrupt (" + (check ? *check : error) + ")" + move_aside);
        }
    }
    if (!in_memory && sqlite3_db_readonly(db, "main") == 1) {
        return refuse("is read-only; make it writable (chmod u+w " + name + ")");
    }

    const auto mode = query_text(db, "PRAGMA journal_mode = WAL", error);
    if (!mode || (*mode != "wal" && !in_memory)) {
        return refuse("cannot use write-ahead logging (" + (mode ? *mode : error) + ")");
    }
    const char* synchronous = durability == Durability::Power ? "PRAGMA synchronous = FULL"
                                                              : "PRAGMA synchronous = NORMAL";
    char* message = nullptr;
    if (sqlite3_exec(db, synchronous, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message != nullptr ? message : "";
        sqlite3_free(message);
        return refuse("cannot be set up (" + text + ")");
    }

    for (long long from = *version; from < schema_version; ++from) {
        const std::string script = std::string("BEGIN IMMEDIATE;") + migrations[from] +
                                   "PRAGMA user_version = " + std::to_string(from + 1) +
                                   ";PRAGMA application_id = " + std::to_string(application_id) +
                                   ";COMMIT;";
        if (sqlite3_exec(db, script.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message != nullptr ? message : "";
            sqlite3_free(message);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return refuse("cannot be brought to schema " + std::to_string(from + 1) + " (" + text +
                          ")");
        }
        logger()->info("{}: store schema {} -> {}", name, from, from + 1);
    }
    return std::unique_ptr<Store>(new Store(db, file));
}

std::variant<std::unique_ptr<Store>, std::string>
Store::open_read_only(const std::filesystem::path& file) {
    const std::string name = file.string();
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(name.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
        std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return "cannot open the delivery store " + name + ": " + message;
    }
    std::string error;
    const auto version = query_integer(db, "PRAGMA user_version", error);
    const auto app = query_integer(db, "PRAGMA application_id", error);
    std::optional<std::string> refused;
    if (!version || !app) {
        refused = "cannot be read (" + error + ")";
    } else if (*app != application_id) {
        refused = "is not a switchboard delivery store";
    } else if (*version != schema_version) {
        refused = "has store schema " + std::to_string(*version) + ", this switchboard reads " +
                  std::to_string(schema_version) + "; start its server once to bring it up to date";
    }
    if (refused) {
        sqlite3_close(db);
        return "the delivery store " + name + " " + *refused;
    }
    return std::unique_ptr<Store>(new Store(db, file));
}

std::string preview(const std::string& body) {
    std::size_t end = std::min<std::size_t>(body.size(), 60);
    while (end > 0 && end < body.size() && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) {
        --end;
    }
    return body.substr(0, end);
}

nlohmann::json history_entry(const Delivery& d) {
    nlohmann::json entry = {
        {"id", d.id},
        {"from", d.from},
        {"to", d.to},
        {"bytes", d.body.size()},
        {"attempts", d.attempts},
        {"outcome", d.client_reply.empty() ? to_string(d.outcome) : d.client_reply},
        {"created_at", epoch_ms(d.created_at)},
        {"finished_at", epoch_ms(d.finished_at)},
        {"preview", preview(d.body)}};
    if (d.outcome == Outcome::Verified) {
        entry["verification"] = "echo";
    } else if (d.outcome == Outcome::Unverified) {
        entry["verification"] = "timeout_fallback";
    }
    if (!d.reason.empty()) {
        entry["reason"] = d.reason;
    }
    if (d.latency_ms >= 0) {
        entry["latency_ms"] = d.latency_ms;
    }
    if (!d.key.empty()) {
        entry["key"] = d.key;
    }
    if (!d.state.empty()) {
        entry["state"] = d.state;
        if (!d.state_reason.empty()) {
            entry["state_reason"] = d.state_reason;
        }
    }
    if (!d.reply_to.empty()) {
        entry["reply_to"] = d.reply_to;
        entry["reply"] = d.reply_number;
        entry["repeat"] = d.reply_number > 1;
    }
    if (d.replies > 0) {
        entry["replies"] = d.replies;
    }
    return entry;
}

Store::Store(sqlite3* db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}

Store::~Store() {
    for (auto& [sql, statement] : statements_) {
        sqlite3_finalize(statement);
    }
    sqlite3_close(db_);
}

sqlite3_stmt* Store::prepare(const char* sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) {
        return found->second;
    }
    sqlite3_stmt* statement = nullptr;
    // The statements are ours and fixed; one that does not prepare is a bug.
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
        SQLITE_OK) {
        logger()->critical("cannot prepare \"{}\": {}", sql, sqlite3_errmsg(db_));
        std::abort();
    }
    statements_.emplace(sql, statement);
    return statement;
}

std::string Store::error_text(const std::string& doing) const {
    return "cannot " + doing + " " + file_.string() + ": " + sqlite3_errmsg(db_);
}

std::optional<std::string> Store::run(const char* sql) {
    Step step(prepare(sql));
    if (step.next() != SQLITE_DONE) {
        return error_text("write to the delivery store");
    }
    return std::nullopt;
}

std::vector<Delivery> Store::unfinished() {
    settle();
    std::vector<Delivery> out;
    auto* statement =
        prepare((std::string(select_columns) + "WHERE (outcome IS NULL AND stage != 'done') OR " +
                 in_composer + " ORDER BY seq")
                    .c_str());
    Step step(statement);
    while (step.next() == SQLITE_ROW) {
        out.push_back(read_row(statement));
    }
    return out;
}

std::uint64_t Store::last_id() {
    auto* statement = prepare("SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'");
    Step step(statement);
    if (step.next() == SQLITE_ROW) {
        return static_cast<std::uint64_t>(sqlite3_column_int64(statement, 0));
    }
    return 0;
}

std::optional<std::string> Store::write_insert(const Delivery& d) {
    auto* s = prepare("INSERT INTO deliveries (seq, idempotency_key, sender, recipient, body, "
                      "removed_bytes, created_at, attempts, stage, finished_at, inbox_reason, "
                      "inboxed_at, expires_at, reply_to, reply_number, client_reply) VALUES "
                      "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    Step step(s);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(id_number(d.id)));
    if (d.key.empty()) {
        sqlite3_bind_null(s, 2);
    } else {
        bind_text(s, 2, d.key);
    }
    bind_text(s, 3, d.from);
    bind_text(s, 4, d.to);
    bind_text(s, 5, d.body);
    sqlite3_bind_int64(s, 6, static_cast<sqlite3_int64>(d.removed_bytes));
    sqlite3_bind_int64(s, 7, epoch_ms(d.created_at));
    sqlite3_bind_int(s, 8, d.attempts);
    sqlite3_bind_text(s, 9, stage_name(d.stage), -1, SQLITE_STATIC);
    bind_optional_time(s, 10, d.finished_at);
    bind_optional_text(s, 11, d.inbox_reason);
    bind_optional_time(s, 12, d.inboxed_at);
    bind_optional_time(s, 13, d.expires_at);
    if (d.reply_to.empty()) {
        sqlite3_bind_null(s, 14);
        sqlite3_bind_null(s, 15);
    } else {
        sqlite3_bind_int64(s, 14, static_cast<sqlite3_int64>(id_number(d.reply_to)));
        sqlite3_bind_int(s, 15, d.reply_number);
    }
    bind_optional_text(s, 16, d.client_reply);
    if (step.next() != SQLITE_DONE) {
        return error_text("save delivery " + d.id + " to");
    }
    return std::nullopt;
}

std::optional<std::string> Store::write_update(const Delivery& d) {
    // The reply columns are not here: a copy of a delivery in a queue does
    // not see its replies come in, and must not write an old count back.
    auto* s = prepare("UPDATE deliveries SET attempts = ?2, stage = ?3, injected_at = ?4, "
                      "outcome = ?5, reason = ?6, finished_at = ?7, latency_ms = ?8, state = ?9, "
                      "state_reason = ?10, state_sequence = ?11, recipient = ?12, "
                      "inbox_reason = ?13, inboxed_at = ?14 WHERE seq = ?1");
    Step step(s);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(id_number(d.id)));
    sqlite3_bind_int(s, 2, d.attempts);
    const char* outcome = outcome_name(d.outcome);
    sqlite3_bind_text(s, 3, outcome != nullptr ? "done" : stage_name(d.stage), -1, SQLITE_STATIC);
    bind_optional_time(s, 4, d.injected_wall);
    if (outcome != nullptr) {
        sqlite3_bind_text(s, 5, outcome, -1, SQLITE_STATIC);
        bind_text(s, 6, d.reason);
        bind_optional_time(s, 7, d.finished_at);
        if (d.latency_ms >= 0) {
            sqlite3_bind_int64(s, 8, d.latency_ms);
        } else {
            sqlite3_bind_null(s, 8);
        }
    } else {
        sqlite3_bind_null(s, 5);
        sqlite3_bind_null(s, 6);
        sqlite3_bind_null(s, 7);
        sqlite3_bind_null(s, 8);
    }
    if (outcome != nullptr && !d.state.empty()) {
        bind_text(s, 9, d.state);
        bind_text(s, 10, d.state_reason);
    } else {
        sqlite3_bind_null(s, 9);
        sqlite3_bind_null(s, 10);
    }
    sqlite3_bind_int(s, 11, d.state_sequence);
    bind_text(s, 12, d.to);
    bind_optional_text(s, 13, d.inbox_reason);
    bind_optional_time(s, 14, d.inboxed_at);
    if (step.next() != SQLITE_DONE) {
        return error_text("save delivery " + d.id + " to");
    }
    return std::nullopt;
}

std::optional<std::string>
Store::transaction(const std::function<std::optional<std::string>()>& writes) {
    if (auto error = run("BEGIN IMMEDIATE")) {
        return error;
    }
    std::optional<std::string> error;
    for (auto it = unsaved_.begin(); it != unsaved_.end() && !error; ++it) {
        error = write_update(it->second);
    }
    if (!error) {
        error = writes();
    }
    if (!error) {
        error = run("COMMIT");
    }
    if (error) {
        // A failed statement or COMMIT may leave the transaction open; it
        // must not swallow the next one.
        if (sqlite3_get_autocommit(db_) == 0) {
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        return error;
    }
    unsaved_.clear();
    return std::nullopt;
}

std::optional<std::string> Store::commit(const std::vector<Delivery>& inserts,
                                         const std::vector<Delivery>& updates) {
    return transaction([&]() -> std::optional<std::string> {
        for (const auto& d : inserts) {
            if (auto error = write_insert(d)) {
                return error;
            }
        }
        for (const auto& d : updates) {
            if (auto error = write_update(d)) {
                return error;
            }
        }
        return std::nullopt;
    });
}

std::variant<Store::ReplyCount, std::string>
Store::commit_reply(Delivery& reply, const std::vector<Delivery>& updates) {
    ReplyCount count;
    auto error = transaction([&]() -> std::optional<std::string> {
        // A delivery with an outcome is now "replied"; its text left the
        // composer, so it is not typed again at a start.
        auto* bump = prepare("UPDATE deliveries SET replies = replies + 1, replied_at = ?2, "
                             "state_sequence = state_sequence + 1, "
                             "state = CASE WHEN outcome IS NULL THEN state ELSE 'replied' END, "
                             "state_reason = CASE WHEN outcome IS NULL THEN state_reason END "
                             "WHERE seq = ?1");
        {
            Step step(bump);
            sqlite3_bind_int64(bump, 1, static_cast<sqlite3_int64>(id_number(reply.reply_to)));
            sqlite3_bind_int64(bump, 2, epoch_ms(reply.created_at));
            if (step.next() != SQLITE_DONE) {
                return error_text("save the reply to " + reply.reply_to + " to");
            }
            if (sqlite3_changes(db_) != 1) {
                return "no delivery " + reply.reply_to + " in " + file_.string();
            }
        }
        auto* read = prepare("SELECT replies, state_sequence FROM deliveries WHERE seq = ?1");
        {
            Step step(read);
            sqlite3_bind_int64(read, 1, static_cast<sqlite3_int64>(id_number(reply.reply_to)));
            if (step.next() != SQLITE_ROW) {
                return error_text("read the replies of " + reply.reply_to + " from");
            }
            count.number = sqlite3_column_int(read, 0);
            count.sequence = sqlite3_column_int64(read, 1);
        }
        reply.reply_number = count.number;
        if (auto failed = write_insert(reply)) {
            return failed;
        }
        for (const auto& d : updates) {
            if (auto failed = write_update(d)) {
                return failed;
            }
        }
        return std::nullopt;
    });
    if (error) {
        reply.reply_number = 0;
        return *error;
    }
    return count;
}

std::optional<Delivery> Store::find(const std::string& id) {
    settle();
    auto* s = prepare((std::string(select_columns) + "WHERE seq = ?1").c_str());
    Step step(s);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(id_number(id)));
    if (step.next() == SQLITE_ROW) {
        return read_row(s);
    }
    return std::nullopt;
}

std::optional<std::string> Store::mark_handed(const std::string& id) {
    auto* s = prepare(
        "UPDATE deliveries SET client_reply = 'handed' WHERE seq = ?1 AND client_reply = 'kept'");
    Step step(s);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(id_number(id)));
    if (step.next() != SQLITE_DONE) {
        return error_text("save that reply " + id + " was handed over to");
    }
    return std::nullopt;
}

std::optional<Delivery> Store::first_reply(const std::string& id) {
    settle();
    auto* s =
        prepare((std::string(select_columns) + "WHERE reply_to = ?1 ORDER BY seq LIMIT 1").c_str());
    Step step(s);
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(id_number(id)));
    if (step.next() == SQLITE_ROW) {
        return read_row(s);
    }
    return std::nullopt;
}

std::optional<std::string> Store::record(const Delivery& delivery) {
    stage(delivery);
    return flush();
}

void Store::stage(const Delivery& delivery) {
    unsaved_[id_number(delivery.id)] = delivery;
}

void Store::settle() {
    if (dirty()) {
        if (auto error = flush()) {
            logger()->warn("{}", *error);
        }
    }
}

std::optional<std::string> Store::flush() {
    if (unsaved_.empty()) {
        return std::nullopt;
    }
    return commit({}, {});
}

int Store::synchronous() {
    auto* statement = prepare("PRAGMA synchronous");
    Step step(statement);
    return step.next() == SQLITE_ROW ? sqlite3_column_int(statement, 0) : -1;
}

std::vector<Store::KeyMatch> Store::find_key(const std::string& key,
                                             SystemClock::time_point since) {
    auto* s = prepare("SELECT seq, recipient FROM deliveries WHERE idempotency_key = ?1 AND "
                      "created_at >= ?2 ORDER BY seq");
    Step step(s);
    bind_text(s, 1, key);
    sqlite3_bind_int64(s, 2, epoch_ms(since));
    std::vector<KeyMatch> out;
    while (step.next() == SQLITE_ROW) {
        out.push_back({"d-" + std::to_string(sqlite3_column_int64(s, 0)), column_text(s, 1)});
    }
    return out;
}

std::vector<Delivery> Store::history(const std::string& worker, SystemClock::time_point since) {
    settle();
    auto* s = prepare((std::string(select_columns) +
                       "WHERE stage = 'done' AND finished_at >= ?1 AND "
                       "(?2 = '' OR recipient = ?2) ORDER BY finished_at, seq")
                          .c_str());
    Step step(s);
    sqlite3_bind_int64(s, 1, epoch_ms(since));
    bind_text(s, 2, worker);
    std::vector<Delivery> out;
    while (step.next() == SQLITE_ROW) {
        out.push_back(read_row(s));
    }
    return out;
}

std::optional<std::string> Store::prune(SystemClock::time_point before) {
    auto* s = prepare("DELETE FROM deliveries WHERE stage = 'done' AND finished_at < ?1");
    Step step(s);
    sqlite3_bind_int64(s, 1, epoch_ms(before));
    if (step.next() != SQLITE_DONE) {
        return error_text("prune");
    }
    if (const int removed = sqlite3_changes(db_); removed > 0) {
        logger()->info("pruned {} finished deliveries from the history", removed);
    }
    return std::nullopt;
}

} // namespace sb::delivery

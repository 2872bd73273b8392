#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "delivery/delivery.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sb::delivery {

// How far a commit goes before it counts: to the operating system (survives
// the server being killed) or to the disk (survives power loss).
enum class Durability { Process, Power };

// The durable record of every delivery (DESIGN's "store"): one SQLite
// database in WAL mode, one row per delivery with its lifecycle. Nothing is
// acknowledged or acted on before the store has it.
//
// Two kinds of writes: commit() is for what must be saved before it happens
// (a send is accepted, a delivery is typed, a cancel is done) and saves
// nothing when it fails; record() is for what has happened already (an
// outcome) and keeps what it could not save, for flush() to save later.
// stage() keeps such a change without writing it, so that the changes of
// one turn of the server's loop go to the disk in one transaction: the next
// commit() or flush() saves them, and a read saves them first.
class Store {
public:
    // The schema this build writes; older databases are migrated on open.
    static constexpr int schema_version = 3;

    // Opens the database at `file`, creating it when missing (":memory:"
    // keeps it in memory, for tests). A file that is not a switchboard
    // store, is corrupt, or was written by a newer switchboard is refused
    // with the reason, and left as it was.
    static std::variant<std::unique_ptr<Store>, std::string> open(const std::filesystem::path& file,
                                                                  Durability durability);
    // Opens an existing store only to read it (`history` while no server
    // runs); refused like open(), and also when it is missing or older.
    static std::variant<std::unique_ptr<Store>, std::string>
    open_read_only(const std::filesystem::path& file);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Every delivery without an outcome, oldest first: those queued for a
    // worker and those in the inbox (an inbox_reason); and every one whose
    // text was typed but never left the composer (state "typed", or stalled
    // that way).
    std::vector<Delivery> unfinished();
    // The largest delivery number ever given (0 for a new store).
    std::uint64_t last_id();

    // Saves new deliveries and changes to known ones in one transaction,
    // after what record() has left unsaved. Nothing of it is saved when it
    // fails, and the error is returned.
    std::optional<std::string> commit(const std::vector<Delivery>& inserts,
                                      const std::vector<Delivery>& updates);
    // Saves a change that has happened. When that fails it is kept (the
    // latest change per delivery) and saved by a later flush() or commit().
    std::optional<std::string> record(const Delivery& delivery);
    // Keeps a change that has happened (the latest per delivery) for the
    // next commit() or flush(), writing nothing now.
    void stage(const Delivery& delivery);
    // Saves a reply (reply.reply_to names the delivery it answers) and the
    // `updates` (the evictions it causes) in one transaction, and counts it
    // on the delivery it answers. Sets reply.reply_number; the error, and
    // nothing saved, when it fails.
    struct ReplyCount {
        int number = 0;         // replies the delivery has had, this one included
        long long sequence = 0; // its state_sequence after this change
    };
    std::variant<ReplyCount, std::string> commit_reply(Delivery& reply,
                                                       const std::vector<Delivery>& updates);
    // A delivery by id, whatever its stage (nothing once it is pruned).
    std::optional<Delivery> find(const std::string& id);
    // The first reply to a delivery, if it has had one.
    std::optional<Delivery> first_reply(const std::string& id);
    // A reply kept for a client has been handed to one after all.
    std::optional<std::string> mark_handed(const std::string& id);
    // Saves what record() has kept; the error when it still cannot.
    std::optional<std::string> flush();
    bool dirty() const { return !unsaved_.empty(); }

    // The deliveries a `send --key KEY` made since `since`, oldest first.
    struct KeyMatch {
        std::string id;
        std::string to;
    };
    std::vector<KeyMatch> find_key(const std::string& key, SystemClock::time_point since);

    // Finished deliveries (with an outcome, and replies handed to clients) since `since`, oldest
    // first, for one worker or all ("").
    std::vector<Delivery> history(const std::string& worker, SystemClock::time_point since);
    // Forgets finished deliveries that ended before `before`.
    std::optional<std::string> prune(SystemClock::time_point before);

    const std::filesystem::path& file() const { return file_; }
    // SQLite's synchronous level on this connection: 1 NORMAL (process), 2
    // FULL (power).
    int synchronous();

private:
    Store(sqlite3* db, std::filesystem::path file);
    sqlite3_stmt* prepare(const char* sql);
    std::optional<std::string> run(const char* sql);
    // Runs `writes` in one transaction, after what record() has left
    // unsaved; rolls everything back when any of it fails.
    std::optional<std::string>
    transaction(const std::function<std::optional<std::string>()>& writes);
    std::optional<std::string> write_insert(const Delivery& d);
    std::optional<std::string> write_update(const Delivery& d);
    std::string error_text(const std::string& doing) const;
    // Before a read: what stage() or record() kept is saved, so that the
    // read sees it (kept still, when it cannot be saved now).
    void settle();

    sqlite3* db_;
    std::filesystem::path file_;
    std::map<std::string, sqlite3_stmt*> statements_;
    // Changes that stage() kept or record() could not save, by delivery
    // number.
    std::map<std::uint64_t, Delivery> unsaved_;
};

std::string to_string(Durability durability);

// A finished delivery as `history` shows it (switchboard-protocol(7)).
nlohmann::json history_entry(const Delivery& delivery);
// The first 60 bytes of a message, cut at a character boundary.
std::string preview(const std::string& body);

} // namespace sb::delivery

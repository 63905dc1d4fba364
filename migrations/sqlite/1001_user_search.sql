-- Search over users' emails and display names, kept by SQLite itself: an FTS5 index with the
-- trigram tokenizer (case-insensitive substring matching), filled by triggers, so rows written
-- by any path are found. FTS rows are keyed by an explicit integer (user_search_keys.n), which
-- VACUUM and dump/restore keep, unlike a table's implicit rowid.
CREATE TABLE user_search_keys (
    n INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE user_search USING fts5 (email, name, tokenize = 'trigram');

INSERT INTO user_search_keys (user_id) SELECT id FROM users;
INSERT INTO user_search (rowid, email, name)
    SELECT k.n, u.primary_email, u.display_name FROM users u JOIN user_search_keys k ON k.user_id = u.id;

CREATE TRIGGER user_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_search_keys (user_id) VALUES (new.id);
    INSERT INTO user_search (rowid, email, name)
        SELECT n, new.primary_email, new.display_name FROM user_search_keys WHERE user_id = new.id;
END;

CREATE TRIGGER user_search_update AFTER UPDATE OF primary_email, display_name ON users BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT n FROM user_search_keys WHERE user_id = old.id);
    INSERT INTO user_search (rowid, email, name)
        SELECT n, new.primary_email, new.display_name FROM user_search_keys WHERE user_id = new.id;
END;

CREATE TRIGGER user_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM user_search WHERE rowid = (SELECT n FROM user_search_keys WHERE user_id = old.id);
    DELETE FROM user_search_keys WHERE user_id = old.id;
END;

//! The database: one `AnyPool` that speaks SQLite or PostgreSQL, chosen by URL, and the
//! migrations that run at start-up. Every query in the core is written once, in SQL both accept.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Connection};

use crate::error::{Error, Result};

/// The migrations both databases share, then the few each needs alone (search indexes: FTS5 on
/// SQLite, pg_trgm on PostgreSQL). The two sets share one history table, with versions from
/// 1001 for the second, so each run skips the other's entries.
fn migrators(dialect: Dialect) -> [Migrator; 2] {
    let mut own = match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let mut shared = sqlx::migrate!("./migrations");
    shared.set_ignore_missing(true);
    own.set_ignore_missing(true);
    [shared, own]
}

/// `text` for a LIKE pattern written with `ESCAPE '\\'`: its own `%`, `_` and `\\` matched
/// literally.
pub(crate) fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The values of a query assembled at run time, numbered as they are added (`$1`, `$2`…: both
/// databases take that; `QueryBuilder<Any>` would write `?`, which PostgreSQL refuses).
#[derive(Default)]
pub(crate) struct Params(Vec<Param>);

enum Param {
    Text(String),
    Int(i64),
}

impl Params {
    /// Adds a text value; returns its placeholder.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.push(Param::Text(value.into()))
    }

    /// Adds a whole number; returns its placeholder.
    pub(crate) fn int(&mut self, value: i64) -> String {
        self.push(Param::Int(value))
    }

    fn push(&mut self, p: Param) -> String {
        self.0.push(p);
        format!("${}", self.0.len())
    }

    /// `query` with every value bound, in order.
    pub(crate) fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
        for p in self.0 {
            query = match p {
                Param::Text(t) => query.bind(t),
                Param::Int(i) => query.bind(i),
            };
        }
        query
    }

    /// [`Params::bind`] for a query that reads rows as `O`.
    pub(crate) fn bind_as<'q, O>(
        self,
        mut query: sqlx::query::QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> sqlx::query::QueryAs<'q, Any, O, AnyArguments<'q>> {
        for p in self.0 {
            query = match p {
                Param::Text(t) => query.bind(t),
                Param::Int(i) => query.bind(i),
            };
        }
        query
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    lanes: Arc<Lanes>,
}

/// Connections of their own for the hottest reads: a token refresh, a session or key check that
/// its cache could not answer, and a project's (its copy's refill). sqlx's pool checks every
/// connection it takes back (it pings it: one more round trip to SQLite's thread or to
/// PostgreSQL, and a spawned task), which for these one-query reads cost about what the query
/// itself did. The lanes are a small pool
/// without that check: a read waits for a free lane, and a read that fails on the connection
/// or is abandoned midway (its request dropped) takes its connection with it, so that the next
/// read connects afresh. Lanes only read.
struct Lanes {
    url: String,
    dialect: Dialect,
    idle: std::sync::Mutex<Vec<AnyConnection>>,
    free: tokio::sync::Semaphore,
}

/// As many reads at once as keep a small machine's cores busy; more would only hold
/// connections (and on SQLite, threads).
const LANES: usize = 4;

/// How long a read waits for a free lane before it fails, as a wait for the pool's connections
/// does: lanes whose connections stopped answering must not hold every hot read for ever.
const LANE_WAIT: Duration = Duration::from_secs(10);

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes").finish_non_exhaustive()
    }
}

impl Lanes {
    fn new(url: &str, dialect: Dialect) -> Lanes {
        Lanes {
            url: url.to_string(),
            dialect,
            idle: Default::default(),
            free: tokio::sync::Semaphore::new(LANES),
        }
    }

    async fn connect(&self) -> sqlx::Result<AnyConnection> {
        let mut conn = AnyConnection::connect(&self.url).await?;
        let read_only = match self.dialect {
            Dialect::Sqlite => "PRAGMA query_only = ON",
            Dialect::Postgres => "SET default_transaction_read_only = on",
        };
        sqlx::query(read_only).execute(&mut conn).await?;
        Ok(conn)
    }

    /// A free lane's connection (connected if the lane had none), with the lane's permit.
    async fn take(&self) -> sqlx::Result<(tokio::sync::SemaphorePermit<'_>, AnyConnection)> {
        let lane = match self.free.try_acquire() {
            Ok(lane) => lane,
            Err(_) => tokio::time::timeout(LANE_WAIT, self.free.acquire())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?,
        };
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect().await?,
        };
        Ok((lane, conn))
    }

    /// Puts a connection back after a read, unless the read failed on the connection itself
    /// (I/O, protocol, a lost worker); a failure of the statement leaves it usable.
    fn give_back<T>(&self, conn: AnyConnection, read: &sqlx::Result<T>) {
        let usable = matches!(
            read,
            Ok(_)
                | Err(sqlx::Error::Database(_)
                    | sqlx::Error::ColumnDecode { .. }
                    | sqlx::Error::ColumnNotFound(_)
                    | sqlx::Error::Decode(_))
        );
        if usable {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(conn);
            }
        }
    }
}

impl Db {
    /// Whether the database answers and holds every migration this binary knows (`/ready`).
    pub async fn ready(&self) -> Result<()> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?;
        let known = migrators(self.dialect);
        let missing = known
            .iter()
            .flat_map(|m| m.iter())
            .find(|m| !applied.iter().any(|(v,)| *v == m.version));
        match missing {
            Some(m) => Err(Error::internal(format!(
                "migration {} ({}) is not applied",
                m.version, m.description
            ))),
            None => Ok(()),
        }
    }

    /// The URL the database was opened with (for connections of a capability's own: see
    /// `analytics::query`).
    pub(crate) fn url(&self) -> &str {
        &self.lanes.url
    }

    /// One row or none, read on a lane (see [`Lanes`]).
    pub(crate) async fn fetch_optional_hot<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Option<AnyRow>> {
        let (_lane, mut conn) = self.lanes.take().await?;
        let read = query.fetch_optional(&mut conn).await;
        self.lanes.give_back(conn, &read);
        Ok(read?)
    }

    /// Every row, read on a lane (see [`Lanes`]).
    pub(crate) async fn fetch_all_hot<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<Vec<AnyRow>> {
        let (_lane, mut conn) = self.lanes.take().await?;
        let read = query.fetch_all(&mut conn).await;
        self.lanes.give_back(conn, &read);
        Ok(read?)
    }
}

impl Db {
    /// Connects (creating an SQLite file and its folder if needed) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        };
        let pool = if url.starts_with("sqlite:") {
            // Create the file on first start; WAL lets readers work while one writer writes.
            let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            if let Some(dir) = opts.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(Error::internal)?;
                }
            }
            // Connecting once through the SQLite driver creates the file and switches it to
            // WAL, which the file remembers; the Any driver then takes only the URL.
            sqlx::SqlitePool::connect_with(opts).await?.close().await;
            AnyPoolOptions::new()
                .max_connections(8)
                // A file cannot drop a connection: checking each one before use (a round trip
                // to its thread) would only add to every query.
                .test_before_acquire(false)
                // WAL's recommended sync level, as the file was opened with above (the URL
                // cannot carry it): a commit survives the process crashing; a power loss may
                // lose the last commits, never the file.
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(conn)
                            .await
                            .map(|_| ())
                    })
                })
                .connect(url)
                .await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?
        } else {
            return Err(Error::internal(format!(
                "DATABASE_URL must start with sqlite: or postgres://, got {url:?}"
            )));
        };
        for migrator in migrators(dialect) {
            migrator.run(&pool).await?;
        }
        Ok(Db {
            pool,
            dialect,
            lanes: Arc::new(Lanes::new(url, dialect)),
        })
    }
}

impl Db {
    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting its turn behind other writers): a transaction that read first and
    /// wrote later could otherwise find the database changed under it and fail outright.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }
}

/// True when the error is a unique-constraint violation, on either database.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// A JSON column (stored as TEXT on both databases), parsed.
pub(crate) fn json_column(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> sqlx::Result<serde_json::Value> {
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Stored JSON text (metadata) as a value; `null` when there is none.
pub(crate) fn json_or_null(text: &Option<String>) -> serde_json::Value {
    text.as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// A JSON value (metadata) as stored text; `null` stores nothing.
pub(crate) fn json_text(v: Option<serde_json::Value>) -> Option<String> {
    v.filter(|v| !v.is_null()).map(|v| v.to_string())
}

/// A database of each kind this run can reach, fresh: SQLite always, PostgreSQL when the suite's
/// server is named (`GATEHOUSE_TEST_POSTGRES_URL`, as `scripts/test` sets it).
#[cfg(test)]
pub(crate) async fn test_databases() -> Vec<String> {
    let mut urls = vec![format!(
        "sqlite://{}",
        std::env::temp_dir()
            .join(format!("gh-test-{}.db", crate::new_id()))
            .display()
    )];
    if let Ok(pg) = std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        let name = format!("gh_test_{}", crate::new_id().replace('-', ""));
        let mut conn = sqlx::PgConnection::connect(&format!("{pg}/postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        urls.push(format!("{pg}/{name}"));
    }
    urls
}

//! The database: one `AnyPool` that speaks SQLite or PostgreSQL, chosen by URL, and the
//! migrations that run at start-up. Every query in the core is written once, in SQL both accept.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use crate::error::{Error, Result};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
}

impl Db {
    /// Connects (creating an SQLite file and its folder if needed) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
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
        MIGRATOR.run(&pool).await?;
        Ok(Db { pool })
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

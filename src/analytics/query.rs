//! SQL over a project's own data (`POST /internal/analytics/query`), safe whatever the admin
//! writes. Three guards, each of which would stop a read of another project on its own in most
//! cases, and together in all:
//!
//! 1. **The parser.** The query is parsed (sqlparser, in the database's own dialect) and must be
//!    one `SELECT`: no writes, no `INTO`, no locks, no other statement. Every table it names
//!    must be one of the project's tables below (or a `WITH` name of its own, which may not be
//!    a real table's name), unqualified; every function one of a list of plain ones (no file,
//!    setting, sleep or SQL-running function, no catalogue function); casts only to plain
//!    types. The text the database runs is the parsed query written out again, so no comment
//!    or quirk of the text can hide anything from these checks.
//! 2. **The project's tables.** The query runs under a `WITH` of its own that defines each
//!    table as the project's rows only (`users AS (SELECT … FROM main.users WHERE project_id =
//!    'p')`): every name the query can reach is one of them.
//! 3. **The database.** A connection of its own that can only read: on SQLite, opened
//!    read-only with an authorizer that allows reading only the columns the project's tables
//!    show (no password hash, no token hash, no secret), no other table, no pragma, no attach
//!    and only the listed functions; on PostgreSQL, a read-only transaction as a role that may
//!    read only those columns, with no schema on its search path. A time limit (SQLite's
//!    progress handler, PostgreSQL's `statement_timeout`) and a row limit end runaway queries.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sqlparser::ast::{
    Expr, FunctionArguments, ObjectName, Query, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{Dialect as SqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use tokio::sync::OnceCell;

use crate::db::Dialect;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::Core;

/// The most rows a query may return.
pub const MAX_ROWS: usize = 10_000;
/// The most bytes of JSON a query may return.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const DEFAULT_TIMEOUT_MS: i64 = 10_000;
pub const MAX_TIMEOUT_MS: i64 = 120_000;
pub const MIN_TIMEOUT_MS: i64 = 1_000;

/// The PostgreSQL role analytics queries run as.
const ROLE: &str = "gatehouse_analytics";

/// A column of a project's table: its name, and how it is read from the base table (`b`).
#[derive(Clone, Copy)]
enum Col {
    /// The base column as it is.
    Plain(&'static str, &'static str),
    /// An epoch-ms column, as a time (PostgreSQL's `timestamptz`; ISO 8601 text on SQLite).
    Time(&'static str, &'static str),
    /// A 0/1 column, as a boolean (0/1 on SQLite).
    Flag(&'static str, &'static str),
    /// A JSON text column, as JSON (`jsonb`; text on SQLite, for its JSON functions).
    Json(&'static str, &'static str),
    /// The branch: always `main`.
    Branch,
    /// A field of a JSON text column.
    Field(&'static str, &'static str, &'static str),
    /// A column of the joined table `j`.
    Joined(&'static str, &'static str),
}

/// One of a project's tables: its name, the base table, the join (if any), the rows it keeps
/// beyond the project's, and its columns.
struct Table {
    name: &'static str,
    base: &'static str,
    /// (table, its columns read, join condition on `b`/`j`, written per dialect).
    join: Option<(&'static str, &'static [&'static str], fn(Dialect) -> String)>,
    filter: &'static str,
    /// Base columns read besides those of `cols` (in `filter` or the join).
    reads: &'static [&'static str],
    cols: &'static [Col],
}

use Col::*;

const TABLES: &[Table] = &[
    Table {
        name: "events",
        base: "analytics_events",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("event_type", "event_type"),
            Time("event_at", "event_at"),
            Json("data", "data"),
            Plain("project_id", "project_id"),
            Branch,
            Plain("user_id", "user_id"),
            Plain("team_id", "team_id"),
            Plain("refresh_token_id", "refresh_token_id"),
            Plain("session_replay_id", "session_replay_id"),
            Plain("session_replay_segment_id", "session_replay_segment_id"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "users",
        base: "users",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Plain("display_name", "display_name"),
            Plain("profile_image_url", "profile_image_url"),
            Plain("primary_email", "primary_email"),
            Flag("primary_email_verified", "primary_email_verified"),
            Time("signed_up_at", "signed_up_at"),
            Time("last_active_at", "last_active_at"),
            Json("client_metadata", "client_metadata"),
            Json("client_read_only_metadata", "client_read_only_metadata"),
            Json("server_metadata", "server_metadata"),
            Flag("is_anonymous", "is_anonymous"),
            Flag("restricted_by_admin", "restricted_by_admin"),
            Plain("restricted_by_admin_reason", "restricted_by_admin_reason"),
            Plain(
                "restricted_by_admin_private_details",
                "restricted_by_admin_private_details",
            ),
        ],
    },
    Table {
        name: "contact_channels",
        base: "contact_channels",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Plain("user_id", "user_id"),
            Plain("type", "type"),
            Plain("value", "value"),
            Flag("is_primary", "is_primary"),
            Flag("is_verified", "is_verified"),
            Flag("used_for_auth", "used_for_auth"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "teams",
        base: "teams",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Plain("display_name", "display_name"),
            Plain("profile_image_url", "profile_image_url"),
            Time("created_at", "created_at"),
            Json("client_metadata", "client_metadata"),
            Json("client_read_only_metadata", "client_read_only_metadata"),
            Json("server_metadata", "server_metadata"),
        ],
    },
    Table {
        name: "team_member_profiles",
        base: "team_members",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("team_id", "team_id"),
            Plain("user_id", "user_id"),
            Plain("display_name", "display_name"),
            Plain("profile_image_url", "profile_image_url"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "team_permissions",
        base: "team_member_permissions",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("team_id", "team_id"),
            Plain("user_id", "user_id"),
            Plain("id", "permission_id"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "team_invitations",
        base: "one_time_codes",
        join: Some(("teams", &["id", "display_name"], |d| {
            format!("j.id = {}", field(d, "b.data", "team_id"))
        })),
        filter: "b.kind = 'TEAM_INVITATION' AND b.used_at IS NULL",
        reads: &["kind", "used_at"],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Field("team_id", "data", "team_id"),
            Joined("team_display_name", "display_name"),
            Field("recipient_email", "method", "email"),
            Plain("expires_at_millis", "expires_at"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "email_outboxes",
        base: "emails",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Plain("status", "status"),
            Plain("user_id", "user_id"),
            Plain("created_with", "source"),
            Plain("email_programmatic_call_template_id", "template_id"),
            Plain("theme_id", "theme_id"),
            Flag("is_high_priority", "is_high_priority"),
            Flag("is_transactional", "is_transactional"),
            Plain("subject", "subject"),
            Plain("notification_category_id", "notification_category_id"),
            Time("rendered_at", "rendered_at"),
            Time("scheduled_at", "scheduled_at"),
            Time("created_at", "created_at"),
            Time("updated_at", "updated_at"),
            Time("started_sending_at", "started_sending_at"),
            Time("finished_at", "finished_at"),
            Plain("server_error", "server_error"),
            Plain("skipped_reason", "skipped_reason"),
            Plain("send_retries", "send_retries"),
        ],
    },
    Table {
        name: "project_permissions",
        base: "user_permissions",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("user_id", "user_id"),
            Plain("id", "permission_id"),
            Time("created_at", "created_at"),
        ],
    },
    Table {
        name: "notification_preferences",
        base: "notification_preferences",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("user_id", "user_id"),
            Plain("notification_category_id", "category_id"),
            Flag("enabled", "enabled"),
        ],
    },
    Table {
        name: "refresh_tokens",
        base: "refresh_tokens",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("id", "id"),
            Plain("user_id", "user_id"),
            Time("created_at", "created_at"),
            Time("last_used_at", "last_used_at"),
            Flag("is_impersonation", "is_impersonation"),
            Time("expires_at", "expires_at"),
        ],
    },
    Table {
        name: "connected_accounts",
        base: "oauth_accounts",
        join: None,
        filter: "",
        reads: &[],
        cols: &[
            Plain("project_id", "project_id"),
            Branch,
            Plain("user_id", "user_id"),
            Plain("provider", "provider_id"),
            Plain("provider_account_id", "account_id"),
            Time("created_at", "created_at"),
        ],
    },
];

/// The names of the tables a query may read.
pub fn table_names() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.name).collect()
}

/// The columns of each table a query may read (for the dashboard's reference).
pub fn table_columns() -> Vec<(&'static str, Vec<&'static str>)> {
    TABLES
        .iter()
        .map(|t| (t.name, t.cols.iter().map(col_name).collect()))
        .collect()
}

fn col_name(c: &Col) -> &'static str {
    match *c {
        Plain(n, _) | Time(n, _) | Flag(n, _) | Json(n, _) | Field(n, _, _) | Joined(n, _) => n,
        Branch => "branch_id",
    }
}

/// The base columns a table reads: (base table, column).
fn base_reads(t: &Table) -> Vec<(&'static str, &'static str)> {
    let mut reads = vec![(t.base, "project_id")];
    reads.extend(t.reads.iter().map(|c| (t.base, *c)));
    for c in t.cols {
        match *c {
            Plain(_, b) | Time(_, b) | Flag(_, b) | Json(_, b) | Field(_, b, _) => {
                reads.push((t.base, b))
            }
            Joined(_, b) => reads.push((t.join.map_or("", |j| j.0), b)),
            Branch => {}
        }
    }
    if let Some((joined, cols, _)) = t.join {
        reads.extend(cols.iter().map(|c| (joined, *c)));
    }
    reads
}

/// A JSON text column's field, as text.
fn field(d: Dialect, column: &str, key: &str) -> String {
    match d {
        Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
        Dialect::Postgres => format!("(CAST({column} AS jsonb) ->> '{key}')"),
    }
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The `WITH` that defines each of the project's tables, its base tables named in `schema`.
fn project_tables(d: Dialect, schema: &str, project_id: &str) -> String {
    let q = |table: &str| format!("{}.{}", quote_ident(schema), quote_ident(table));
    let ctes: Vec<String> = TABLES
        .iter()
        .map(|t| {
            let cols: Vec<String> = t
                .cols
                .iter()
                .map(|c| {
                    let expr = match (*c, d) {
                        (Plain(_, b), _) => format!("b.{b}"),
                        (Time(_, b), Dialect::Postgres) => format!("to_timestamp(b.{b} / 1000.0)"),
                        (Time(_, b), Dialect::Sqlite) => {
                            format!("strftime('%Y-%m-%dT%H:%M:%fZ', b.{b} / 1000.0, 'unixepoch')")
                        }
                        (Flag(_, b), Dialect::Postgres) => format!("(b.{b} = 1)"),
                        (Flag(_, b), Dialect::Sqlite) => format!("b.{b}"),
                        (Json(_, b), Dialect::Postgres) => format!("CAST(b.{b} AS jsonb)"),
                        (Json(_, b), Dialect::Sqlite) => format!("b.{b}"),
                        (Branch, _) => "'main'".to_string(),
                        (Field(_, b, key), _) => field(d, &format!("b.{b}"), key),
                        (Joined(_, b), _) => format!("j.{b}"),
                    };
                    format!("{expr} AS {}", quote_ident(col_name(c)))
                })
                .collect();
            let join = t.join.map_or(String::new(), |(table, _, on)| {
                format!(" LEFT JOIN {} AS j ON {}", q(table), on(d))
            });
            let filter = if t.filter.is_empty() {
                String::new()
            } else {
                format!(" AND {}", t.filter)
            };
            format!(
                "{} AS (SELECT {} FROM {} AS b{join} WHERE b.project_id = {}{filter})",
                t.name,
                cols.join(", "),
                q(t.base),
                quote_literal(project_id),
            )
        })
        .collect();
    format!("WITH {}", ctes.join(", "))
}

/// The functions a query may call (lower case): arithmetic, text, time, JSON, aggregates and
/// window functions of both databases. Nothing that reads files, settings or the catalogue,
/// runs SQL, sleeps or loads code.
const FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "array_agg",
    "json_agg",
    "jsonb_agg",
    "json_group_array",
    "json_group_object",
    "json_object_agg",
    "jsonb_object_agg",
    "bool_and",
    "bool_or",
    "every",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "median",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    "percent_rank",
    "cume_dist",
    // numbers
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "sign",
    "sqrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "mod",
    "greatest",
    "least",
    "div",
    "width_bucket",
    // conditions
    "coalesce",
    "nullif",
    "ifnull",
    "iif",
    "if",
    "typeof",
    // text
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "substr",
    "substring",
    "replace",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "instr",
    "strpos",
    "concat",
    "concat_ws",
    "lpad",
    "rpad",
    "left",
    "right",
    "split_part",
    "starts_with",
    "reverse",
    "initcap",
    "repeat",
    "regexp_replace",
    "regexp_match",
    "regexp_matches",
    "regexp_like",
    "printf",
    "format",
    "char",
    "chr",
    "ascii",
    "unicode",
    "md5",
    "hex",
    "quote",
    "like",
    "glob",
    // times
    "now",
    "date",
    "time",
    "datetime",
    "julianday",
    "strftime",
    "unixepoch",
    "to_timestamp",
    "to_char",
    "to_date",
    "to_number",
    "date_trunc",
    "date_part",
    "date_bin",
    "age",
    "make_interval",
    "make_date",
    "make_timestamp",
    "make_timestamptz",
    "extract",
    "timezone",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "isfinite",
    // JSON
    "json",
    "jsonb",
    "json_extract",
    "json_array_length",
    "json_type",
    "json_object",
    "json_array",
    "json_valid",
    "json_quote",
    "json_each",
    "json_tree",
    "json_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_array_length",
    "jsonb_typeof",
    "json_typeof",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "to_json",
    "to_jsonb",
    "jsonb_array_elements",
    "json_array_elements",
    "jsonb_array_elements_text",
    "json_array_elements_text",
    "jsonb_each",
    "jsonb_each_text",
    "json_each_text",
    "jsonb_object_keys",
    "json_object_keys",
    "jsonb_strip_nulls",
    "jsonb_pretty",
    // rows
    "generate_series",
    "unnest",
    "array_length",
    "cardinality",
    "array_to_string",
];

/// The functions a query may read from like a table (`FROM json_each(…)`).
const TABLE_FUNCTIONS: &[&str] = &[
    "json_each",
    "json_tree",
    "jsonb_each",
    "jsonb_each_text",
    "json_each_text",
    "jsonb_array_elements",
    "json_array_elements",
    "jsonb_array_elements_text",
    "json_array_elements_text",
    "generate_series",
    "unnest",
    "jsonb_object_keys",
    "json_object_keys",
];

/// The types a query may cast to.
const TYPES: &[&str] = &[
    "int",
    "integer",
    "bigint",
    "smallint",
    "real",
    "double",
    "float",
    "numeric",
    "decimal",
    "text",
    "varchar",
    "char",
    "character",
    "string",
    "bool",
    "boolean",
    "date",
    "timestamp",
    "timestamptz",
    "time",
    "interval",
    "json",
    "jsonb",
    "uuid",
];

/// Why a query is refused, found by walking it.
struct Checker {
    tables: HashSet<&'static str>,
    ctes: HashSet<String>,
    real_tables: HashSet<String>,
    problem: Option<String>,
}

fn one_name(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(|i| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            }
        }),
        _ => None,
    }
}

impl Checker {
    fn refuse(&mut self, why: String) -> ControlFlow<()> {
        self.problem = Some(why);
        ControlFlow::Break(())
    }

    fn check_function(&mut self, name: &ObjectName, table: bool) -> ControlFlow<()> {
        let Some(n) = one_name(name) else {
            return self.refuse(format!(
                "The function {name} cannot be used here: name functions without a schema."
            ));
        };
        let allowed = if table { TABLE_FUNCTIONS } else { FUNCTIONS };
        if !allowed.contains(&n.as_str()) {
            return self.refuse(format!(
                "The function {n} cannot be used in analytics queries."
            ));
        }
        ControlFlow::Continue(())
    }
}

impl Visitor for Checker {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if !query.locks.is_empty() {
            return self.refuse(
                "Analytics queries only read: FOR UPDATE and FOR SHARE cannot be used.".into(),
            );
        }
        if let SetExpr::Select(select) = query.body.as_ref() {
            if select.into.is_some() {
                return self
                    .refuse("Analytics queries only read: SELECT INTO cannot be used.".into());
            }
        }
        self.check_set_expr(query.body.as_ref())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { name, args, .. } => {
                if args.is_some() {
                    return self.check_function(name, true);
                }
                match one_name(name) {
                    Some(n) if self.tables.contains(n.as_str()) || self.ctes.contains(&n) => {
                        ControlFlow::Continue(())
                    }
                    Some(n) => self.refuse(format!(
                        "There is no table {n} here. The tables are: {}.",
                        table_names().join(", ")
                    )),
                    None => self.refuse(format!(
                        "Name tables without a schema or database: {name} cannot be read."
                    )),
                }
            }
            TableFactor::Function { name, .. } => self.check_function(name, true),
            TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. }
            | TableFactor::UNNEST { .. } => ControlFlow::Continue(()),
            other => self.refuse(format!("This kind of FROM item cannot be used: {other}")),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(f) => {
                if let FunctionArguments::Subquery(_) = f.args {
                    return self.refuse("A function cannot take a subquery here.".into());
                }
                self.check_function(&f.name, false)
            }
            Expr::Cast { data_type, .. } => self.check_type(&data_type.to_string()),
            Expr::TypedString(t) => self.check_type(&t.data_type.to_string()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            _ => self.refuse("Analytics queries only read: write one SELECT.".into()),
        }
    }
}

impl Checker {
    fn check_type(&mut self, t: &str) -> ControlFlow<()> {
        let base = t
            .to_lowercase()
            .split(|c: char| c == '(' || c == ' ' || c == '[')
            .next()
            .unwrap_or("")
            .to_string();
        if TYPES.contains(&base.as_str()) {
            ControlFlow::Continue(())
        } else {
            self.refuse(format!("Values cannot be cast to {t} here."))
        }
    }

    fn check_set_expr(&mut self, body: &SetExpr) -> ControlFlow<()> {
        match body {
            SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => {
                ControlFlow::Continue(())
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.check_set_expr(left)?;
                self.check_set_expr(right)
            }
            SetExpr::Table(_) => self.refuse("Write SELECT * FROM … instead of TABLE ….".into()),
            _ => self.refuse("Analytics queries only read: write one SELECT.".into()),
        }
    }
}

/// The query with its `{name}` (or ClickHouse's `{name:Type}`) parameters written in as
/// literals.
fn with_params(query: &str, params: &Map<String, Value>) -> Result<String> {
    let re = regex::Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}").expect("pattern");
    let mut missing = None;
    let out = re.replace_all(query, |c: &regex::Captures| {
        let name = &c[1];
        match params.get(name) {
            Some(Value::String(s)) => quote_literal(s),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Some(Value::Null) => "NULL".to_string(),
            Some(other) => quote_literal(&other.to_string()),
            None => {
                missing = Some(name.to_string());
                String::new()
            }
        }
    });
    match missing {
        Some(name) => Err(Error::AnalyticsQueryError(format!(
            "The query names the parameter {{{name}}}, but params has no {name}."
        ))),
        None => Ok(out.into_owned()),
    }
}

/// Parses and checks a query; returns it written out again.
fn checked(d: Dialect, text: &str, real_tables: &HashSet<String>) -> Result<String> {
    let dialect: Box<dyn SqlDialect> = match d {
        Dialect::Sqlite => Box::new(SQLiteDialect {}),
        Dialect::Postgres => Box::new(PostgreSqlDialect {}),
    };
    let statements = Parser::parse_sql(dialect.as_ref(), text)
        .map_err(|e| Error::AnalyticsQueryError(format!("The query could not be read: {e}")))?;
    let [statement] = statements.as_slice() else {
        return Err(Error::AnalyticsQueryError(
            "Write exactly one SELECT statement.".into(),
        ));
    };
    let mut checker = Checker {
        tables: TABLES.iter().map(|t| t.name).collect(),
        ctes: HashSet::new(),
        real_tables: real_tables.clone(),
        problem: None,
    };
    // Names of WITH clauses are gathered first, so a table read before its WITH is seen.
    if statement.visit(&mut CteNames(&mut checker)).is_continue() {
        let _ = statement.visit(&mut checker);
    }
    if let Some(problem) = checker.problem {
        return Err(Error::AnalyticsQueryError(problem));
    }
    if !matches!(statement, Statement::Query(_)) {
        return Err(Error::AnalyticsQueryError(
            "Analytics queries only read: write one SELECT.".into(),
        ));
    }
    Ok(statement.to_string())
}

/// Gathers every `WITH` name of a query (refusing real tables' names).
struct CteNames<'a>(&'a mut Checker);

impl Visitor for CteNames<'_> {
    type Break = ();
    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_lowercase();
                if self.0.real_tables.contains(&name) {
                    return self.0.refuse(format!(
                        "A WITH name cannot be the name of a table: rename {name}."
                    ));
                }
                self.0.ctes.insert(name);
            }
        }
        ControlFlow::Continue(())
    }
}

/// The reading connections, made on the first query.
pub(crate) enum Reader {
    Sqlite {
        pool: sqlx::SqlitePool,
        tables: HashSet<String>,
    },
    Postgres {
        pool: sqlx::PgPool,
        schema: String,
        tables: HashSet<String>,
        /// Whether the read-only role could be made and taken (else the other guards only).
        role: bool,
    },
}

pub(crate) type ReaderCell = OnceCell<Reader>;

/// What the SQLite authorizer lets a query read: the base columns of the project's tables.
static SQLITE_READS: std::sync::LazyLock<HashSet<(String, String)>> =
    std::sync::LazyLock::new(|| {
        TABLES
            .iter()
            .flat_map(base_reads)
            .map(|(t, c)| (t.to_string(), c.to_string()))
            .collect()
    });

/// The SQLite database's own tables (read when the reader opens).
static SQLITE_TABLES: std::sync::OnceLock<HashSet<String>> = std::sync::OnceLock::new();

mod sqlite_guard {
    use std::ffi::{c_char, c_int, c_void, CStr};

    use libsqlite3_sys as ffi;

    fn text(p: *const c_char) -> &'static str {
        if p.is_null() {
            return "";
        }
        // SAFETY: SQLite passes NUL-terminated strings that live for the callback's duration;
        // the borrow does not outlive it (it is only compared).
        unsafe { CStr::from_ptr(p) }.to_str().unwrap_or("\u{0}")
    }

    /// SQLite's authorizer: reading the listed columns, the listed functions, `SELECT` and
    /// recursive `WITH`; nothing else.
    extern "C" fn authorize(
        _: *mut c_void,
        action: c_int,
        a: *const c_char,
        b: *const c_char,
        _db: *const c_char,
        _trigger: *const c_char,
    ) -> c_int {
        let allowed = match action {
            ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE => true,
            ffi::SQLITE_READ => {
                let (table, column) = (text(a), text(b));
                // No column: the rows of a table are counted, or a recursive WITH reads
                // itself; allowed for the project tables' base tables and for what is not a
                // table of the database at all.
                super::SQLITE_READS.contains(&(table.to_string(), column.to_string()))
                    || (column.is_empty()
                        && (super::SQLITE_READS.iter().any(|(t, _)| t == table)
                            || !super::SQLITE_TABLES
                                .get()
                                .is_some_and(|real| real.contains(&table.to_lowercase()))))
            }
            ffi::SQLITE_FUNCTION => {
                let name = text(b).to_lowercase();
                super::FUNCTIONS.contains(&name.as_str())
                    || super::TABLE_FUNCTIONS.contains(&name.as_str())
                    // What the project's tables and SQLite's own operators call.
                    || ["strftime", "json_extract", "like", "glob", "regexp"]
                        .contains(&name.as_str())
            }
            _ => false,
        };
        if allowed {
            ffi::SQLITE_OK
        } else {
            tracing::debug!(
                action,
                a = text(a),
                b = text(b),
                "analytics query refused by the authorizer"
            );
            ffi::SQLITE_DENY
        }
    }

    /// Installs the authorizer on a connection of the reader's own.
    pub(super) async fn install(conn: &mut sqlx::SqliteConnection) -> sqlx::Result<()> {
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        // SAFETY: the handle is locked for this call; the callback is a plain function with
        // no state, valid for the life of the program.
        let rc = unsafe { ffi::sqlite3_set_authorizer(db, Some(authorize), std::ptr::null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(sqlx::Error::Protocol(
                "cannot install the authorizer".into(),
            ));
        }
        Ok(())
    }
}

/// Admins' queries are theirs: a slow one is no warning for the server's log.
fn quiet<O: sqlx::ConnectOptions>(opts: O) -> O {
    opts.log_statements(tracing::log::LevelFilter::Off)
        .log_slow_statements(tracing::log::LevelFilter::Off, Duration::from_secs(3600))
}

impl Reader {
    /// Opens the reader's connections beside the server's pool (which reads the database's
    /// tables, and on PostgreSQL makes the role).
    async fn open(db: &crate::db::Db) -> Result<Reader> {
        let url = db.url();
        match db.dialect {
            Dialect::Sqlite => {
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT lower(name) FROM sqlite_master WHERE type IN ('table', 'view')",
                )
                .fetch_all(&db.pool)
                .await?;
                let tables: HashSet<String> = tables.into_iter().map(|(t,)| t).collect();
                let _ = SQLITE_TABLES.set(tables.clone());
                let opts = quiet(
                    sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                        .read_only(true)
                        .busy_timeout(Duration::from_secs(10)),
                );
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(2)
                    .min_connections(0)
                    .idle_timeout(Duration::from_secs(300))
                    .after_connect(|conn, _| Box::pin(sqlite_guard::install(conn)))
                    .connect_lazy_with(opts);
                Ok(Reader::Sqlite { pool, tables })
            }
            Dialect::Postgres => {
                let (schema,): (String,) = sqlx::query_as("SELECT CAST(current_schema() AS TEXT)")
                    .fetch_one(&db.pool)
                    .await?;
                let tables: Vec<(String,)> = sqlx::query_as(
                    "SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = $1",
                )
                .bind(&schema)
                .fetch_all(&db.pool)
                .await?;
                let role = match make_role(&db.pool, &schema).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("analytics queries run without their read-only role ({e}); the parser and the project's tables still guard them");
                        false
                    }
                };
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .min_connections(0)
                    .idle_timeout(Duration::from_secs(300))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::query("SET default_transaction_read_only = on")
                                .execute(conn)
                                .await
                                .map(|_| ())
                        })
                    })
                    .connect_lazy_with(quiet(sqlx::postgres::PgConnectOptions::from_str(url)?));
                Ok(Reader::Postgres {
                    pool,
                    schema,
                    tables: tables.into_iter().map(|(t,)| t).collect(),
                    role,
                })
            }
        }
    }
}

/// Makes the role analytics queries run as, allowed to read only the project tables' base
/// columns, and lets this connection's user take it. Several servers may do this at once on
/// one cluster: a role another made first is fine.
async fn make_role(pool: &sqlx::AnyPool, schema: &str) -> std::result::Result<(), sqlx::Error> {
    let create = format!(
        "DO $$ BEGIN CREATE ROLE {ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    );
    for attempt in 0..3 {
        match sqlx::query(&create).execute(pool).await {
            Ok(_) => break,
            Err(e) if attempt < 2 => tracing::debug!("making the analytics role again: {e}"),
            Err(e) => return Err(e),
        }
    }
    let _ = sqlx::query(&format!("GRANT {ROLE} TO CURRENT_USER"))
        .execute(pool)
        .await;
    let mut by_table: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (t, c) in TABLES.iter().flat_map(base_reads) {
        let cols = by_table.entry(t).or_default();
        if !cols.contains(&c) {
            cols.push(c);
        }
    }
    let mut grants = vec![format!(
        "GRANT USAGE ON SCHEMA {} TO {ROLE}",
        quote_ident(schema)
    )];
    for (t, cols) in by_table {
        grants.push(format!(
            "GRANT SELECT ({}) ON {}.{} TO {ROLE}",
            cols.iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            quote_ident(schema),
            quote_ident(t)
        ));
    }
    for grant in grants {
        // Two servers granting at once may collide on the catalogue row: once more.
        if sqlx::query(&grant).execute(pool).await.is_err() {
            sqlx::query(&grant).execute(pool).await?;
        }
    }
    // Taking the role must work, or it would fail every query.
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL ROLE {ROLE}"))
        .execute(&mut *tx)
        .await?;
    tx.rollback().await?;
    Ok(())
}

/// A query's body: `{query, params, timeout_ms, include_all_branches}`.
#[derive(Debug, serde::Deserialize)]
pub struct AnalyticsQuery {
    pub query: String,
    #[serde(default)]
    pub params: Map<String, Value>,
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub include_all_branches: bool,
}

impl crate::validation::Input for AnalyticsQuery {
    fn shape(_: bool) -> crate::validation::Shape {
        use crate::validation::{boolean, integer, object, string, Shape};
        Shape::new()
            .field("include_all_branches", boolean())
            .field("query", string().defined().non_empty())
            .field("params", object())
            .field(
                "timeout_ms",
                integer()
                    .min(MIN_TIMEOUT_MS as f64)
                    .max(MAX_TIMEOUT_MS as f64),
            )
    }
}

impl Core {
    /// Runs an admin's read-only query over the project's own tables; returns its rows (as
    /// JSON objects) and the query's id.
    pub async fn analytics_query(&self, project: &Project, q: AnalyticsQuery) -> Result<Value> {
        let timeout_ms = q
            .timeout_ms
            .unwrap_or(DEFAULT_TIMEOUT_MS)
            .clamp(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
        if q.include_all_branches {
            return Err(Error::AnalyticsQueryError(
                "include_all_branches is not supported: a project has one branch, main.".into(),
            ));
        }
        let reader = self
            .analytics_reader
            .get_or_try_init(|| Reader::open(&self.db))
            .await?;
        let text = with_params(&q.query, &q.params)?;
        let query_id = format!("{}:main:{}", project.id, crate::new_id());
        let rows = match reader {
            Reader::Sqlite { pool, tables } => {
                let sql = checked(Dialect::Sqlite, &text, tables)?;
                let full = format!(
                    "{} SELECT * FROM ({sql})",
                    project_tables(Dialect::Sqlite, "main", &project.id)
                );
                run_sqlite(pool, &full, timeout_ms).await?
            }
            Reader::Postgres {
                pool,
                schema,
                tables,
                role,
            } => {
                let sql = checked(Dialect::Postgres, &text, tables)?;
                let full = format!(
                    "{} SELECT CAST(row_to_json(gatehouse_result) AS text) FROM ({sql}) AS gatehouse_result",
                    project_tables(Dialect::Postgres, schema, &project.id)
                );
                run_postgres(pool, &full, timeout_ms, *role).await?
            }
        };
        Ok(serde_json::json!({ "result": rows, "query_id": query_id }))
    }
}

fn too_many(rows: usize, bytes: usize) -> Option<Error> {
    if rows > MAX_ROWS {
        Some(Error::AnalyticsQueryError(format!(
            "The query returned more than {MAX_ROWS} rows. Add a LIMIT, or group the rows."
        )))
    } else if bytes > MAX_BYTES {
        Some(Error::AnalyticsQueryError(format!(
            "The query's result is larger than {} MB. Select fewer columns or rows.",
            MAX_BYTES / 1024 / 1024
        )))
    } else {
        None
    }
}

/// A database's refusal as the admin sees it.
fn query_error(e: sqlx::Error, timeout_ms: i64) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default().to_string();
            let message = db.message().to_string();
            // PostgreSQL's query_canceled; SQLite's SQLITE_INTERRUPT.
            if code == "57014" || code == "9" || message.contains("interrupted") {
                Error::AnalyticsQueryTimeout(timeout_ms)
            } else {
                Error::AnalyticsQueryError(message)
            }
        }
        other => Error::from(other),
    }
}

/// A run's outcome: its rows, or why there are none (past the time limit, refused by the
/// database, or too many).
fn finished(
    result: std::result::Result<sqlx::Result<()>, tokio::time::error::Elapsed>,
    rows: Vec<Value>,
    bytes: usize,
    timeout_ms: i64,
) -> Result<Vec<Value>> {
    match result {
        Err(_) => Err(Error::AnalyticsQueryTimeout(timeout_ms)),
        Ok(Err(e)) => Err(query_error(e, timeout_ms)),
        Ok(Ok(())) => match too_many(rows.len(), bytes) {
            Some(e) => Err(e),
            None => Ok(rows),
        },
    }
}

async fn run_sqlite(pool: &sqlx::SqlitePool, sql: &str, timeout_ms: i64) -> Result<Vec<Value>> {
    use futures_util::TryStreamExt;
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    let mut conn = pool.acquire().await?;
    let deadline = Instant::now() + Duration::from_millis(timeout_ms as u64);
    conn.lock_handle()
        .await?
        .set_progress_handler(1_000, move || Instant::now() < deadline);
    let mut out = Vec::new();
    let mut bytes = 0;
    let read = async {
        let mut rows = sqlx::query(sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let mut object = Map::new();
            for (i, column) in row.columns().iter().enumerate() {
                let raw = row.try_get_raw(i)?;
                let value = if raw.is_null() {
                    Value::Null
                } else {
                    match raw.type_info().name() {
                        "INTEGER" => Value::from(row.try_get::<i64, _>(i)?),
                        "REAL" => Value::from(row.try_get::<f64, _>(i)?),
                        "BLOB" => Value::from(crate::crypto::hex(&row.try_get::<Vec<u8>, _>(i)?)),
                        _ => Value::from(row.try_get::<String, _>(i)?),
                    }
                };
                object.insert(column.name().to_string(), value);
            }
            let object = Value::Object(object);
            bytes += object.to_string().len();
            out.push(object);
            if too_many(out.len(), bytes).is_some() {
                break;
            }
        }
        Ok::<_, sqlx::Error>(())
    };
    let result = tokio::time::timeout(Duration::from_millis(timeout_ms as u64 + 2_000), read).await;
    conn.lock_handle().await?.remove_progress_handler();
    finished(result, out, bytes, timeout_ms)
}

async fn run_postgres(
    pool: &sqlx::PgPool,
    sql: &str,
    timeout_ms: i64,
    role: bool,
) -> Result<Vec<Value>> {
    use futures_util::TryStreamExt;
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("SET LOCAL statement_timeout = {timeout_ms}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL search_path TO pg_catalog")
        .execute(&mut *tx)
        .await?;
    if role {
        sqlx::query(&format!("SET LOCAL ROLE {ROLE}"))
            .execute(&mut *tx)
            .await?;
    }
    let mut out = Vec::new();
    let mut bytes = 0;
    let read = async {
        let mut rows = sqlx::query_as::<_, (String,)>(sql).fetch(&mut *tx);
        while let Some((text,)) = rows.try_next().await? {
            bytes += text.len();
            out.push(serde_json::from_str(&text).unwrap_or(Value::Null));
            if too_many(out.len(), bytes).is_some() {
                break;
            }
        }
        Ok::<_, sqlx::Error>(())
    };
    let result = tokio::time::timeout(Duration::from_millis(timeout_ms as u64 + 2_000), read).await;
    let _ = tx.rollback().await;
    finished(result, out, bytes, timeout_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(d: Dialect, q: &str) -> std::result::Result<String, String> {
        let real: HashSet<String> = ["users", "api_keys", "emails", "refresh_tokens", "events"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        checked(d, q, &real).map_err(|e| e.message())
    }

    #[test]
    fn plain_selects_pass_and_are_written_out_again() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let out = check(
                d,
                "select count(*) /* a comment */ from users where is_anonymous = 0",
            )
            .unwrap();
            assert_eq!(out, "SELECT count(*) FROM users WHERE is_anonymous = 0");
            check(
                d,
                "WITH x AS (SELECT id FROM users) SELECT * FROM x JOIN teams ON true",
            )
            .unwrap();
            check(
                d,
                "SELECT event_type, count(*) FROM events GROUP BY 1 UNION ALL SELECT 'x', 1",
            )
            .unwrap();
        }
    }

    #[test]
    fn anything_but_the_projects_tables_is_refused() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            for q in [
                "SELECT * FROM api_keys",
                "SELECT * FROM main.users",
                "SELECT * FROM public.users",
                "SELECT * FROM sqlite_master",
                "SELECT * FROM pg_catalog.pg_authid",
                "SELECT * FROM information_schema.tables",
                "SELECT * FROM (SELECT * FROM emails) e",
                "SELECT (SELECT count(*) FROM api_keys)",
                "WITH emails AS (SELECT 1) SELECT * FROM emails",
                "DELETE FROM users",
                "UPDATE users SET display_name = 'x'",
                "INSERT INTO users (id) VALUES ('x')",
                "DROP TABLE users",
                "SELECT 1; DELETE FROM users",
                "SELECT * FROM users FOR UPDATE",
                "TABLE api_keys",
            ] {
                assert!(check(d, q).is_err(), "{d:?} allowed {q}");
            }
        }
        for q in [
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT current_setting('data_directory')",
            "SELECT set_config('role', 'postgres', true)",
            "SELECT query_to_xml('select * from api_keys', true, true, '')",
            "SELECT pg_sleep(100)",
            "SELECT * FROM dblink('x', 'select 1') AS t(a int)",
            "SELECT 'api_keys'::regclass",
            "SELECT lo_import('/etc/passwd')",
            "COPY users TO '/tmp/x'",
            "SELECT * INTO newtable FROM users",
            "SELECT pg_catalog.upper('x')",
        ] {
            assert!(check(Dialect::Postgres, q).is_err(), "allowed {q}");
        }
        for q in [
            "ATTACH DATABASE '/tmp/x.db' AS x",
            "PRAGMA table_info(users)",
            "SELECT load_extension('x')",
            "SELECT readfile('/etc/passwd')",
            "SELECT * FROM pragma_table_info('users')",
            "SELECT fts3_tokenizer('simple')",
            "SELECT sqlite_version()",
        ] {
            assert!(check(Dialect::Sqlite, q).is_err(), "allowed {q}");
        }
    }

    #[test]
    fn parameters_are_written_in_as_literals() {
        let params: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"name": "o'x", "n": 3, "on": true})).unwrap();
        assert_eq!(
            with_params("SELECT {name:String}, {n}, {on:Bool}", &params).unwrap(),
            "SELECT 'o''x', 3, TRUE"
        );
        assert!(with_params("SELECT {missing}", &params).is_err());
    }

    #[test]
    fn every_table_is_defined_for_both_databases() {
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let with = project_tables(d, "main", "p'1");
            assert!(with.contains("WHERE b.project_id = 'p''1'"));
            for t in TABLES {
                assert!(with.contains(&format!("{} AS (SELECT", t.name)));
            }
        }
    }

    /// The database's own guards, met by SQL the parser never saw: secret columns, other
    /// tables, writes, pragmas and files are refused by the database itself.
    #[tokio::test]
    async fn the_databases_own_guards_hold_without_the_parser() {
        for url in crate::db::test_databases().await {
            let db = crate::db::Db::connect(&url).await.unwrap();
            let reader = Reader::open(&db).await.unwrap();
            match &reader {
                Reader::Sqlite { pool, .. } => {
                    for sql in [
                        "SELECT password_hash FROM main.users",
                        "SELECT token_hash FROM main.refresh_tokens",
                        "SELECT * FROM main.api_key_sets",
                        "SELECT * FROM sqlite_master",
                        "ATTACH DATABASE ':memory:' AS stolen",
                        "PRAGMA table_info(users)",
                        "SELECT load_extension('x')",
                        "DELETE FROM main.users",
                        "CREATE TEMP TABLE x (a)",
                    ] {
                        assert!(run_sqlite(pool, sql, 1_000).await.is_err(), "{sql}");
                    }
                    run_sqlite(pool, "SELECT id, primary_email FROM main.users", 1_000)
                        .await
                        .unwrap();
                }
                Reader::Postgres {
                    pool, schema, role, ..
                } => {
                    assert!(role, "the read-only role was made");
                    let q = |sql: &str| {
                        format!("SELECT CAST(row_to_json(q) AS text) FROM ({sql}) AS q")
                    };
                    for sql in [
                        format!("SELECT password_hash FROM \"{schema}\".users"),
                        format!("SELECT token_hash FROM \"{schema}\".refresh_tokens"),
                        format!("SELECT * FROM \"{schema}\".api_key_sets"),
                        "SELECT pg_read_file('/etc/hostname') AS f".to_string(),
                        "SELECT * FROM pg_ls_dir('.') AS f".to_string(),
                        "SELECT * FROM users".to_string(),
                    ] {
                        assert!(
                            run_postgres(pool, &q(&sql), 1_000, true).await.is_err(),
                            "{sql}"
                        );
                    }
                    for sql in [
                        format!("DELETE FROM \"{schema}\".users"),
                        "CREATE TABLE stolen (a int)".to_string(),
                    ] {
                        assert!(
                            run_postgres(pool, &sql, 1_000, true).await.is_err(),
                            "{sql}"
                        );
                    }
                    run_postgres(
                        pool,
                        &q(&format!("SELECT id, primary_email FROM \"{schema}\".users")),
                        1_000,
                        true,
                    )
                    .await
                    .unwrap();
                }
            }
        }
    }
}

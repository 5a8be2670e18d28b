//! Typed helpers over an object's SQLite storage. `exec` is synchronous:
//! code between two awaits runs, and commits, as one step.

use worker::{SqlStorage, SqlStorageValue};

use crate::problem::ApiError;

/// An object's database and its schema.
pub struct Db {
    sql: SqlStorage,
    ddl: &'static str,
    /// The DDL ran in this instance.
    ready: std::cell::Cell<bool>,
    /// The schema's first table was seen (an object made earlier may still
    /// lack tables added since: [`Db::create_schema`] adds them).
    exists: std::cell::Cell<bool>,
    /// When each clean-up last ran in this instance (ms).
    swept: std::cell::RefCell<Vec<(&'static str, u64)>>,
    /// What the object last stored or read of its main row, decoded
    /// ([`Db::remember`]).
    memo: std::cell::RefCell<Option<Box<dyn std::any::Any>>>,
}

/// One row of a result, its columns in the statement's order.
pub struct Row(Vec<SqlStorageValue>);

/// A stored row that is not what the code wrote.
fn corrupt() -> ApiError {
    ApiError::Platform("a stored row has an unexpected shape".into())
}

impl Row {
    /// Column `i`, a non-negative integer.
    pub fn int(&self, i: usize) -> Result<u64, ApiError> {
        self.opt_int(i)?.ok_or_else(corrupt)
    }

    /// Column `i`, a non-negative integer below 2^32.
    pub fn small(&self, i: usize) -> Result<u32, ApiError> {
        u32::try_from(self.int(i)?).map_err(|_| corrupt())
    }

    /// Column `i`, a non-negative integer or NULL.
    pub fn opt_int(&self, i: usize) -> Result<Option<u64>, ApiError> {
        match self.0.get(i) {
            Some(SqlStorageValue::Null) => Ok(None),
            Some(SqlStorageValue::Integer(v)) => u64::try_from(*v).map(Some).map_err(|_| corrupt()),
            _ => Err(corrupt()),
        }
    }

    /// Column `i`, text.
    pub fn text(&self, i: usize) -> Result<String, ApiError> {
        self.opt_text(i)?.ok_or_else(corrupt)
    }

    /// Column `i`, text or NULL.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, ApiError> {
        match self.0.get(i) {
            Some(SqlStorageValue::Null) => Ok(None),
            Some(SqlStorageValue::String(v)) => Ok(Some(v.clone())),
            _ => Err(corrupt()),
        }
    }
}

impl Db {
    /// Runs a statement to completion; returns its rows, each column in
    /// the statement's order. Read without serde: a derived deserializer per
    /// row shape (through serde_wasm_bindgen) cost more of the upload than
    /// the few typed reads each caller does.
    pub fn rows(&self, query: &str, params: Vec<SqlStorageValue>) -> Result<Vec<Row>, ApiError> {
        let rows = self.sql.exec(query, params).and_then(|cursor| {
            cursor
                .raw()
                .map(|row| row.map(Row))
                .collect::<worker::Result<Vec<Row>>>()
        });
        if rows.is_err() {
            // A failed statement may have rolled back the step's earlier
            // writes: read the stored state again from here on.
            self.memo.borrow_mut().take();
        }
        Ok(rows?)
    }

    /// Runs a statement that returns no rows.
    pub fn run(&self, query: &str, params: Vec<SqlStorageValue>) -> Result<(), ApiError> {
        self.rows(query, params).map(drop)
    }

    /// A token bucket: the first row of a query whose columns are its
    /// `level` and `at_ms`.
    pub fn bucket(
        &self,
        query: &str,
        params: Vec<SqlStorageValue>,
    ) -> Result<Option<simbind_core::budget::Bucket>, ApiError> {
        match self.first(query, params)? {
            None => Ok(None),
            Some(row) => Ok(Some(simbind_core::budget::Bucket {
                level: row.int(0)?,
                at_ms: row.int(1)?,
            })),
        }
    }

    /// The one number a query answers (`NULL` or no row: `None`).
    pub fn number(
        &self,
        query: &str,
        params: Vec<SqlStorageValue>,
    ) -> Result<Option<u64>, ApiError> {
        match self.first(query, params)? {
            Some(row) => row.opt_int(0),
            None => Ok(None),
        }
    }

    /// The first row of a query, if any.
    pub fn first(
        &self,
        query: &str,
        params: Vec<SqlStorageValue>,
    ) -> Result<Option<Row>, ApiError> {
        Ok(self.rows(query, params)?.into_iter().next())
    }

    /// The object's database; `ddl` (idempotent `CREATE … IF NOT EXISTS`)
    /// is applied by [`Db::create_schema`], once per object instance.
    pub fn open(state: &worker::State, ddl: &'static str) -> Self {
        Self {
            sql: state.storage().sql(),
            ddl,
            ready: std::cell::Cell::new(false),
            exists: std::cell::Cell::new(false),
            swept: std::cell::RefCell::new(Vec::new()),
            memo: std::cell::RefCell::new(None),
        }
    }

    /// Keeps `value`, the decoded form of a row just read or written, so the
    /// next step reads it without a query or a parse. Only this instance
    /// writes its storage, so the copy stays exact if every write of that
    /// row remembers what it stored, after the write succeeded.
    pub fn remember<T: 'static>(&self, value: T) {
        *self.memo.borrow_mut() = Some(Box::new(value));
    }

    /// The value last [`Db::remember`]ed, if it is a `T`.
    pub fn remembered<T: Clone + 'static>(&self) -> Option<T> {
        self.memo.borrow().as_ref()?.downcast_ref::<T>().cloned()
    }

    /// Whether the clean-up `what` (deleting expired rows) is due: at most
    /// once per `every_ms` per object instance, and at once in a new one.
    /// Only for rows whose expiry every reader checks anyway, so a later
    /// sweep changes how much is stored, never what is decided.
    pub fn sweep_due(&self, what: &'static str, now_ms: u64, every_ms: u64) -> bool {
        let mut swept = self.swept.borrow_mut();
        match swept.iter_mut().find(|(name, _)| *name == what) {
            Some((_, last)) if now_ms < last.saturating_add(every_ms) => false,
            Some((_, last)) => {
                *last = now_ms;
                true
            }
            None => {
                swept.push((what, now_ms));
                true
            }
        }
    }

    /// Creates the schema (a write: call it only on paths that may store).
    pub fn create_schema(&self) -> Result<(), ApiError> {
        if self.ready.get() {
            return Ok(());
        }
        for statement in self.ddl.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            if self.has_added_column(statement)? {
                continue;
            }
            self.run(statement, vec![])?;
        }
        self.ready.set(true);
        self.exists.set(true);
        Ok(())
    }

    /// For `ALTER TABLE t ADD COLUMN c …` (a column added after objects
    /// were made with `t`): whether `t` already has `c`, as objects made
    /// since (their `CREATE TABLE` lists it) or already migrated do.
    fn has_added_column(&self, statement: &str) -> Result<bool, ApiError> {
        let Some(rest) = statement.strip_prefix("ALTER TABLE ") else {
            return Ok(false);
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let (Some(table), Some(column)) = (words.first(), words.get(3)) else {
            return Ok(false);
        };
        let made = self.first(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![text(table)],
        )?;
        let Some(made) = made else {
            return Ok(false);
        };
        Ok(made
            .text(0)?
            .split(['(', ',', ')'])
            .any(|def| def.split_whitespace().next() == Some(column)))
    }

    /// Whether the schema exists, without creating it: an object that a
    /// stranger merely names (a made-up binding id) stores nothing at all.
    /// Looks for the schema's first table (the runtime keeps tables of its
    /// own in the same database).
    pub fn has_schema(&self) -> Result<bool, ApiError> {
        if self.exists.get() {
            return Ok(true);
        }
        let first = self
            .ddl
            .split("CREATE TABLE IF NOT EXISTS ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default();
        let found = self.rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
            vec![text(first)],
        )?;
        let exists = !found.is_empty();
        self.exists.set(exists);
        Ok(exists)
    }
}

/// A u64 as an SQL integer (every stored number is far below 2^53).
pub fn int(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Text as an SQL value.
pub fn text(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_owned())
}

/// Every row of every table, for the end-to-end tests' checks of what is
/// stored. Dev builds in dev mode only: elsewhere the operation does not exist.
#[cfg(feature = "dev")]
pub fn dump(db: &Db, env: &worker::Env) -> Result<serde_json::Value, ApiError> {
    let dev = env.var("SIMBIND_ENV").map(|v| v.to_string()).ok();
    if dev.as_deref() != Some("dev") {
        return Err(ApiError::NotFound(crate::problem::Missing::Route));
    }
    let tables = db.rows(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
        vec![],
    )?;
    let mut out = serde_json::Map::new();
    for table in tables {
        let name = table.text(0)?;
        // With their column names: the tests read rows as objects.
        let rows: Vec<serde_json::Value> = db
            .sql
            .exec(&format!("SELECT * FROM \"{name}\""), None)
            .and_then(|cursor| cursor.to_array())?;
        out.insert(name, serde_json::Value::Array(rows));
    }
    Ok(serde_json::Value::Object(out))
}

//! `db_operations_total` / `db_operation_duration_seconds` for the repository actors: each port
//! message is one logical database operation, timed from the first pool acquire to the result.

use std::future::Future;
use std::time::Instant;

/// Runs `operation` and records its outcome and duration under (`operation`, `table`).
pub async fn timed<T, E>(
    operation: &'static str,
    table: &'static str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    debug_assert!(
        crate::metrics::DB_OPERATIONS.contains(&(operation, table)),
        "add ({operation}, {table}) to metrics::DB_OPERATIONS"
    );
    let started = Instant::now();
    let result = fut.await;
    crate::metrics::db_operation(
        operation,
        table,
        result.is_ok(),
        started.elapsed().as_secs_f64(),
    );
    result
}

/// A read answered for a caller: also counted in `query_processing_total{query_type}`.
pub async fn query<T, E>(
    query_type: &'static str,
    table: &'static str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let result = timed("select", table, fut).await;
    crate::metrics::query(query_type, result.is_ok());
    result
}

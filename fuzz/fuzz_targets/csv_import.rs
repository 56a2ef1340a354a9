//! `campus finance import` reads CSV files users exported from elsewhere: any bytes give rows
//! numbered from line 2 without a panic, and every row goes through the same checks as
//! ImportTransactions on the server.

#![no_main]

libfuzzer_sys::fuzz_target!(|csv: &[u8]| {
    let rows = campus::finance_cli::parse_rows(csv);
    let mut previous = 1;
    for row in &rows {
        assert!(row.line_number > previous, "rows are numbered in order");
        previous = row.line_number;
        campus_finance::fuzzing::check_import_row(row);
    }
});

//! Column-major input samples, borrowed from the caller (Arrow buffers).

use crate::{Error, Result};

/// One feature column: the values of an Arrow Float64 or Float32 array.
/// Missing values are NaN.
#[derive(Clone, Copy, Debug)]
pub enum Column<'a> {
    /// 64-bit values.
    F64(&'a [f64]),
    /// 32-bit values.
    F32(&'a [f32]),
}

impl<'a> Column<'a> {
    /// Number of values.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::F32(v) => v.len(),
        }
    }
    /// True when the column has no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Value at `row` widened to f64.
    #[inline(always)]
    pub fn get(&self, row: usize) -> f64 {
        match self {
            Column::F64(v) => v[row],
            Column::F32(v) => v[row] as f64,
        }
    }
}

/// Samples as one column per model feature (column-major), all of equal length.
#[derive(Clone, Debug)]
pub struct Matrix<'a> {
    columns: Vec<Column<'a>>,
    rows: usize,
}

impl<'a> Matrix<'a> {
    /// Builds a matrix, checking that every column has the same length.
    pub fn new(columns: Vec<Column<'a>>) -> Result<Self> {
        let rows = columns.first().map(|c| c.len()).unwrap_or(0);
        for (j, c) in columns.iter().enumerate() {
            if c.len() != rows {
                return Err(Error::Input(format!(
                    "feature column {j} has {} values, column 0 has {rows}",
                    c.len()
                )));
            }
        }
        Ok(Matrix { columns, rows })
    }
    /// Builds a matrix from a row-major buffer (`rows` × `cols`), for tests and tools.
    /// The returned matrix borrows `storage`, which must hold the transposed data;
    /// see [`Matrix::transpose_rows`].
    pub fn from_columns_f64(cols: &'a [Vec<f64>]) -> Result<Self> {
        Matrix::new(cols.iter().map(|c| Column::F64(c.as_slice())).collect())
    }
    /// Transposes a row-major buffer into owned columns (for tests and tools).
    pub fn transpose_rows(data: &[f64], rows: usize, cols: usize) -> Vec<Vec<f64>> {
        (0..cols)
            .map(|j| (0..rows).map(|i| data[i * cols + j]).collect())
            .collect()
    }
    /// Number of rows (samples).
    #[inline]
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns (features).
    #[inline]
    pub fn cols(&self) -> usize {
        self.columns.len()
    }
    /// The column of feature `j`.
    #[inline]
    pub fn column(&self, j: usize) -> Column<'a> {
        self.columns[j]
    }
    /// Value at (`row`, `feature`).
    #[inline(always)]
    pub fn get(&self, row: usize, feature: usize) -> f64 {
        self.columns[feature].get(row)
    }
    /// Copies rows `start..start+out.len()/cols` into `out`, row-major.
    /// This is how explainers gather a cache-sized row block from the columns.
    pub fn gather_rows(&self, start: usize, out: &mut [f64]) {
        let cols = self.cols();
        if cols == 0 {
            return;
        }
        let n = out.len() / cols;
        for (j, c) in self.columns.iter().enumerate() {
            match c {
                Column::F64(v) => {
                    for (i, x) in v[start..start + n].iter().enumerate() {
                        out[i * cols + j] = *x;
                    }
                }
                Column::F32(v) => {
                    for (i, x) in v[start..start + n].iter().enumerate() {
                        out[i * cols + j] = *x as f64;
                    }
                }
            }
        }
    }
}

//! The wide layout: one line per bucket, one column per (sensor, value column), built from the
//! bucket rows the database returns ordered by (bucket, sensor). Memory is one line's cells.

use crate::format::Cell;

/// Pivots `(bucket, sensor, cells)` rows into one line of cells per bucket.
pub struct Pivot {
    sensors: Vec<Vec<u8>>,
    per_sensor: usize,
    fill_previous: bool,
    bucket: Option<(i64, Option<i32>)>,
    cells: Vec<Cell>,
}

impl Pivot {
    /// A pivot over `sensors`, each with `template` cells
    /// (their kinds; values ignored).
    pub fn new(mut sensors: Vec<String>, template: &[Cell], fill_previous: bool) -> Self {
        // Byte order, for binary search (the database's collation may order differently).
        sensors.sort_unstable();
        sensors.dedup();
        let cells = sensors
            .iter()
            .flat_map(|_| template.iter().map(|c| c.empty()))
            .collect();
        Self {
            sensors: sensors.into_iter().map(String::into_bytes).collect(),
            per_sensor: template.len(),
            fill_previous,
            bucket: None,
            cells,
        }
    }

    /// Column names: the sensor name when there is one cell per sensor, else
    /// `<sensor>.<column>`.
    pub fn column_names(&self, cell_names: &[String]) -> Vec<String> {
        let mut names = Vec::new();
        for sensor in &self.sensors {
            let sensor = String::from_utf8_lossy(sensor);
            if cell_names.len() == 1 {
                names.push(sensor.into_owned());
            } else {
                names.extend(cell_names.iter().map(|c| format!("{sensor}.{c}")));
            }
        }
        names
    }

    /// Add one bucket row. When it starts a new bucket, the finished previous line is passed to
    /// `emit` first.
    pub fn add<E>(
        &mut self,
        bucket: i64,
        utc_offset: Option<i32>,
        sensor: &[u8],
        cells: &[Cell],
        emit: impl FnMut(i64, Option<i32>, &[Cell]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.bucket.map(|(b, _)| b) != Some(bucket) {
            self.flush(emit)?;
            self.bucket = Some((bucket, utc_offset));
        }
        // Sensors unknown to the header (arrived between the two queries) are left out.
        if let Ok(index) = self.sensors.binary_search_by(|s| s.as_slice().cmp(sensor)) {
            let start = index * self.per_sensor;
            let slots = &mut self.cells[start..start + self.per_sensor];
            for (slot, cell) in slots.iter_mut().zip(cells) {
                // With --fill previous an empty aggregate (all NULL) keeps the earlier value.
                if !(self.fill_previous && cell.is_empty()) {
                    *slot = *cell;
                }
            }
        }
        Ok(())
    }

    /// Emit the pending line, if any.
    pub fn flush<E>(
        &mut self,
        mut emit: impl FnMut(i64, Option<i32>, &[Cell]) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some((bucket, offset)) = self.bucket.take() {
            emit(bucket, offset, &self.cells)?;
            if !self.fill_previous {
                for cell in &mut self.cells {
                    *cell = cell.empty();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivots_and_fills() {
        for fill in [false, true] {
            let mut pivot = Pivot::new(vec!["a".into(), "b".into()], &[Cell::Float(None)], fill);
            let mut lines = Vec::new();
            let mut emit = |b: i64, _: Option<i32>, cells: &[Cell]| -> Result<(), ()> {
                lines.push((b, cells.to_vec()));
                Ok(())
            };
            pivot
                .add(0, None, b"a", &[Cell::Float(Some(1.0))], &mut emit)
                .unwrap();
            pivot
                .add(0, None, b"b", &[Cell::Float(Some(2.0))], &mut emit)
                .unwrap();
            pivot
                .add(60, None, b"b", &[Cell::Float(Some(3.0))], &mut emit)
                .unwrap();
            pivot.flush(&mut emit).unwrap();
            assert_eq!(lines.len(), 2);
            assert_eq!(lines[0].1, [Cell::Float(Some(1.0)), Cell::Float(Some(2.0))]);
            let a = if fill { Some(1.0) } else { None };
            assert_eq!(lines[1], (60, vec![Cell::Float(a), Cell::Float(Some(3.0))]));
        }
    }

    #[test]
    fn names() {
        let pivot = Pivot::new(vec!["a".into()], &[Cell::Float(None); 2], false);
        assert_eq!(
            pivot.column_names(&["x".into(), "y".into()]),
            ["a.x", "a.y"]
        );
    }
}

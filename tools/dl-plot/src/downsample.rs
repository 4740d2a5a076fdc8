//! Constant-memory downsampling: each series keeps a fixed number of time buckets, and per
//! bucket only its first, last, smallest and largest point (the "M4" reduction). Drawn as a
//! line through those points, a bucket looks exactly like all its points would at that width:
//! a one-sample spike keeps its height.
//!
//! The time range is not known before the last point, so the bucket grid grows: when a point
//! falls outside it, the bucket width doubles (neighbouring buckets merge) and the grid extends
//! towards the point, until it fits. The grid always covers the data with at least
//! `buckets / 2` buckets, so asking for twice the pixel columns gives at least one bucket per
//! column.

/// One point: microseconds since the Unix epoch, and the value.
pub type Point = (i64, f64);

/// The four points that stand for a bucket, and how many points fell into it.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    first: Point,
    last: Point,
    min: Point,
    max: Point,
}

impl Bucket {
    fn new(point: Point) -> Self {
        Bucket {
            first: point,
            last: point,
            min: point,
            max: point,
        }
    }

    fn add(&mut self, point: Point) {
        if point.0 < self.first.0 {
            self.first = point;
        }
        if point.0 >= self.last.0 {
            self.last = point;
        }
        if point.1 < self.min.1 {
            self.min = point;
        }
        if point.1 > self.max.1 {
            self.max = point;
        }
    }

    fn merge(&mut self, other: &Bucket) {
        for point in [other.first, other.last, other.min, other.max] {
            self.add(point);
        }
    }
}

/// The downsampled history of one series.
#[derive(Clone, Debug)]
pub struct Series {
    /// The series' name (the sensor).
    pub name: String,
    buckets: Vec<Option<Bucket>>,
    /// Start of the grid (µs).
    origin: i64,
    /// Bucket width (µs), a power of two.
    width: i64,
    count: u64,
    first_time: i64,
    last_time: i64,
}

impl Series {
    /// An empty series of `buckets` buckets (at least 2, even).
    pub fn new(name: String, buckets: usize) -> Self {
        let buckets = buckets.max(2).next_multiple_of(2);
        Series {
            name,
            buckets: vec![None; buckets],
            origin: 0,
            width: 1,
            count: 0,
            first_time: i64::MAX,
            last_time: i64::MIN,
        }
    }

    /// Add one point (NaN and infinite values are skipped by the caller).
    pub fn add(&mut self, point: Point) {
        if self.count == 0 {
            self.origin = point.0;
        }
        while !self.covers(point.0) {
            self.grow(point.0 < self.origin);
        }
        let index = ((point.0 - self.origin) / self.width) as usize;
        match &mut self.buckets[index] {
            Some(bucket) => bucket.add(point),
            slot => *slot = Some(Bucket::new(point)),
        }
        self.count += 1;
        self.first_time = self.first_time.min(point.0);
        self.last_time = self.last_time.max(point.0);
    }

    fn span(&self) -> i64 {
        self.width.saturating_mul(self.buckets.len() as i64)
    }

    fn covers(&self, time: i64) -> bool {
        time >= self.origin && (time - self.origin) / self.width < self.buckets.len() as i64
    }

    /// Double the bucket width, keeping the grid's start (`leftwards` false) or its end.
    fn grow(&mut self, leftwards: bool) {
        let n = self.buckets.len();
        let half = n / 2;
        let mut merged: Vec<Option<Bucket>> = vec![None; n];
        let offset = if leftwards { half } else { 0 };
        for (i, pair) in self.buckets.chunks(2).enumerate() {
            let mut bucket = pair[0];
            if let Some(second) = &pair[1] {
                match &mut bucket {
                    Some(b) => b.merge(second),
                    None => bucket = Some(*second),
                }
            }
            merged[offset + i] = bucket;
        }
        if leftwards {
            self.origin = self.origin.saturating_sub(self.span());
        }
        self.width = self.width.saturating_mul(2);
        self.buckets = merged;
    }

    /// How many points were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The earliest and latest time added, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        (self.count > 0).then_some((self.first_time, self.last_time))
    }

    /// The smallest and largest value kept.
    pub fn value_range(&self) -> Option<(f64, f64)> {
        self.buckets.iter().flatten().fold(None, |range, b| {
            let (lo, hi) = range.unwrap_or((b.min.1, b.max.1));
            Some((lo.min(b.min.1), hi.max(b.max.1)))
        })
    }

    /// The mean time between points (µs), if there are two or more.
    pub fn mean_interval(&self) -> Option<f64> {
        (self.count > 1)
            .then(|| (self.last_time - self.first_time) as f64 / (self.count - 1) as f64)
    }

    /// The points kept, in time order, split into runs wherever two neighbours are more than
    /// `gap` µs apart (a gap in the data, drawn as a gap).
    pub fn segments(&self, gap: f64) -> Vec<Vec<Point>> {
        let mut segments: Vec<Vec<Point>> = Vec::new();
        let mut current: Vec<Point> = Vec::new();
        for bucket in self.buckets.iter().flatten() {
            let mut points = [bucket.first, bucket.min, bucket.max, bucket.last];
            points.sort_by_key(|p| p.0);
            for point in points {
                if let Some(previous) = current.last() {
                    if *previous == point {
                        continue;
                    }
                    if (point.0 - previous.0) as f64 > gap {
                        segments.push(std::mem::take(&mut current));
                    }
                }
                current.push(point);
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        segments
    }

    /// The bucket width now (µs).
    pub fn bucket_width(&self) -> i64 {
        self.width
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_points_keep_their_extremes_in_bounded_buckets() {
        let mut series = Series::new("s".into(), 1000);
        for i in 0..1_000_000i64 {
            let value = if i == 123_456 { 99.0 } else { (i % 7) as f64 };
            series.add((i * 1000, value));
        }
        assert_eq!(series.count(), 1_000_000);
        assert_eq!(series.buckets.len(), 1000);
        let points: Vec<Point> = series.segments(f64::INFINITY).concat();
        assert!(points.len() <= 4000);
        assert!(points.contains(&(123_456_000, 99.0)));
        assert_eq!(series.value_range(), Some((0.0, 99.0)));
        assert_eq!(series.time_range(), Some((0, 999_999_000)));
        assert!(points.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn points_before_the_start_grow_the_grid_leftwards() {
        let mut series = Series::new("s".into(), 8);
        for t in [100, 50, 10_000, -5_000, 0] {
            series.add((t, t as f64));
        }
        let points = series.segments(f64::INFINITY).concat();
        let times: Vec<i64> = points.iter().map(|p| p.0).collect();
        assert_eq!(times.first(), Some(&-5_000));
        assert_eq!(times.last(), Some(&10_000));
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }

    #[test]
    fn a_gap_splits_the_line() {
        let mut series = Series::new("s".into(), 64);
        for t in (0..10).chain(20..30) {
            series.add((t * 1_000_000, 1.0));
        }
        let segments = series.segments(3.0 * 1_000_000.0);
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0].last().unwrap().0, 9_000_000);
        assert_eq!(segments[1].first().unwrap().0, 20_000_000);
    }
}

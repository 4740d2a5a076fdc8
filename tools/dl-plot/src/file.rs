//! The chart as a PNG or SVG file, drawn by `plotters`: text in the embedded DejaVu Sans (no
//! system fonts needed), each series with its own colour, marker shape and line pattern.

use crate::chart::{self, Chart};
use crate::downsample::Series;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// The file kinds written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

impl Kind {
    /// The kind for a path's extension.
    pub fn of(path: &Path) -> Option<Kind> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(Kind::Png),
            "svg" => Some(Kind::Svg),
            _ => None,
        }
    }
}

/// Colours for the series, in order (dark enough on white).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 86, 86),
    RGBColor(230, 159, 0),
];

/// Marker shapes, in series order.
#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Triangle,
    Cross,
    Square,
}

const SHAPES: [Shape; 4] = [Shape::Circle, Shape::Triangle, Shape::Cross, Shape::Square];

/// Markers are drawn every this many pixels along a series at most.
const MARKER_SPACING_PX: f64 = 60.0;

/// Draw `chart` into `path`, `size` pixels, as `kind`.
pub fn write(
    chart: &Chart,
    path: &Path,
    kind: Kind,
    size: (u32, u32),
    title: Option<&str>,
    panels: bool,
) -> Result<(), String> {
    register_font()?;
    match kind {
        Kind::Svg => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            chart,
            title,
            panels,
            2,
        ),
        // plotters rasterises lines wider than one pixel as polygons with mitred joins, and
        // a one-sample spike (up and straight back down) then grows a long mitre: one pixel
        // keeps the picture true.
        Kind::Png => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            chart,
            title,
            panels,
            1,
        ),
    }
}

fn register_font() -> Result<(), String> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        )
        .map_err(|_| "the embedded font cannot be read (a bug)".to_string());
    });
    result
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    chart: &Chart,
    title: Option<&str>,
    panels: bool,
    line_width: u32,
) -> Result<(), String> {
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(fail)?;
    let body = match title {
        Some(title) => root
            .titled(title, ("sans-serif", 24).into_font())
            .map_err(fail)?,
        None => root.clone(),
    };
    let indices: Vec<usize> = (0..chart.series.len()).collect();
    if panels && chart.series.len() > 1 {
        let areas = body.split_evenly((chart.series.len(), 1));
        for (area, index) in areas.iter().zip(&indices) {
            draw_panel(area, chart, &[*index], line_width).map_err(fail)?;
        }
    } else {
        draw_panel(&body, chart, &indices, line_width).map_err(fail)?;
    }
    root.present().map_err(fail)
}

/// An axis ticked where [`chart`] says, not where plotters' own f64 axis would: time ticks in
/// a zone with daylight saving time are not evenly spaced, and value labels are formatted for
/// the step [`chart::value_ticks`] chose.
struct TickedAxis {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        // Inclusive at both ends: the value axis ends on a tick.
        let slack = (range.end - range.start).abs() * 1e-9;
        let ticks = ticks
            .into_iter()
            .filter(|t| *t >= range.start - slack && *t <= range.end + slack)
            .collect();
        TickedAxis {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// One set of axes with the series at `indices`.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
    indices: &[usize],
    line_width: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let series: Vec<&Series> = indices.iter().map(|&i| &chart.series[i]).collect();
    let (start, end) = chart.time_range().unwrap_or((0, 1));
    let (width, _) = area.dim_in_pixel();
    let ticks = chart::time_ticks(start, end, (width as usize / 110).max(2), &chart.zone);
    let first = ticks.first();
    // x is in seconds from the first tick (f64 keeps sub-millisecond precision); the ticks
    // are given to plotters as they are, since in a zone with daylight saving time they are
    // not evenly spaced.
    let to_x = |t: i64| (t - first) as f64 / 1e6;
    let from_x = |x: f64| first + (x * 1e6).round() as i64;
    let key_points: Vec<f64> = ticks.ticks.iter().map(|t| to_x(*t)).collect();
    let (lo, hi) = Chart::value_range(series.iter().copied()).unwrap_or((0.0, 1.0));
    let (y_lo, y_hi, y_step) = chart::value_ticks(lo, hi, 6);
    let y_ticks: Vec<f64> = (0..)
        .map(|i| y_lo + f64::from(i) * y_step)
        .take_while(|y| *y <= y_hi + y_step / 2.0)
        .take(chart::MAX_VALUE_TICKS)
        .collect();
    let x_range = to_x(start)..to_x(end.max(start + 1));

    let mut plot = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            TickedAxis::new(x_range.clone(), key_points),
            TickedAxis::new(y_lo..y_hi, y_ticks),
        )?;
    let y_desc = match (&chart.unit, indices) {
        (Some(unit), [one]) => format!("{} ({unit})", chart.series[*one].name),
        (Some(unit), _) => unit.clone(),
        (None, [one]) => chart.series[*one].name.clone(),
        (None, _) => String::new(),
    };
    plot.configure_mesh()
        .x_desc(format!("time ({})", chart.zone.name()))
        .y_desc(y_desc)
        .x_label_formatter(&|x| ticks.label(from_x(*x), &chart.zone))
        .y_label_formatter(&|y| chart::value_label(*y, y_step))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    let x_per_px = (x_range.end - x_range.start) / f64::from(width.max(1));
    for &index in indices {
        let colour = COLOURS[index % COLOURS.len()];
        let shape = SHAPES[index % SHAPES.len()];
        let line = colour.stroke_width(line_width);
        let mut last_marker = f64::NEG_INFINITY;
        let mut markers = Vec::new();
        for segment in chart.segments(&chart.series[index]) {
            let points: Vec<(f64, f64)> = segment.iter().map(|p| (to_x(p.0), p.1)).collect();
            for point in &points {
                if point.0 - last_marker >= MARKER_SPACING_PX * x_per_px {
                    last_marker = point.0;
                    markers.push(*point);
                }
            }
            // Solid for the first series of every four, dashed for the others: with the
            // marker shapes that tells the series apart without colour.
            if index % 2 == 0 || points.len() < 2 {
                plot.draw_series(LineSeries::new(points, line))?;
            } else {
                plot.draw_series(DashedLineSeries::new(points, 10, 5, line))?;
            }
        }
        let name = chart.series[index].name.clone();
        let style = colour.stroke_width(2);
        let sample = move |(x, y): (i32, i32)| {
            EmptyElement::at((x + 10, y)) + PathElement::new(vec![(-10, 0), (10, 0)], line)
        };
        let at = markers.into_iter();
        match shape {
            Shape::Circle => plot
                .draw_series(at.map(|p| Circle::new(p, 4, style)))?
                .label(name)
                .legend(move |c| sample(c) + Circle::new((0, 0), 4, style)),
            Shape::Triangle => plot
                .draw_series(at.map(|p| TriangleMarker::new(p, 5, colour.filled())))?
                .label(name)
                .legend(move |c| sample(c) + TriangleMarker::new((0, 0), 5, colour.filled())),
            Shape::Cross => plot
                .draw_series(at.map(|p| Cross::new(p, 4, style)))?
                .label(name)
                .legend(move |c| sample(c) + Cross::new((0, 0), 4, style)),
            Shape::Square => plot
                .draw_series(at.map(|p| EmptyElement::at(p) + square(style)))?
                .label(name)
                .legend(move |c| sample(c) + square(style)),
        };
    }
    plot.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    Ok(())
}

/// A square marker around its anchor.
fn square(style: ShapeStyle) -> Rectangle<(i32, i32)> {
    Rectangle::new([(-4, -4), (4, 4)], style)
}

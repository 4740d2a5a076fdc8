//! The chart in a terminal: ratatui's `Chart` widget (braille dots) drawn into a buffer of the
//! terminal's size, then printed as text lines (with colours only when asked).

use crate::chart::{self, Chart};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart as ChartWidget, Dataset, GraphType, LegendPosition, Widget};
use std::fmt::Write;

/// Series colours, in order (distinct on dark and light terminals).
const COLOURS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::Green,
    Color::Red,
    Color::Blue,
];

/// Markers for series when there is no colour to tell them apart.
const MARKERS: [Marker; 4] = [Marker::Braille, Marker::Dot, Marker::Block, Marker::Bar];

/// The chart as text, `width` × `height` characters, with ANSI colours if `colour`.
pub fn render(chart: &Chart, width: u16, height: u16, colour: bool) -> String {
    let (start, end) = chart.time_range().unwrap_or((0, 1));
    let ticks = chart::time_ticks(start, end, (width as usize / 14).max(2), &chart.zone);
    let (first, last) = (ticks.first(), ticks.last());
    // ratatui spaces labels evenly; ticks a daylight-saving day apart are off by at most an
    // hour in a day, less than a character at any width a terminal has.
    let x_labels: Vec<Span> = ticks
        .ticks
        .iter()
        .map(|t| Span::raw(ticks.label(*t, &chart.zone)))
        .collect();
    let (lo, hi) = Chart::value_range(&chart.series).unwrap_or((0.0, 1.0));
    let (y_lo, y_hi, y_step) = chart::value_ticks(lo, hi, (height as usize / 4).clamp(2, 6));
    let y_labels: Vec<Span> = (0..)
        .map(|i| y_lo + i as f64 * y_step)
        .take_while(|v| *v <= y_hi + y_step / 2.0)
        .take(chart::MAX_VALUE_TICKS)
        .map(|v| Span::raw(chart::value_label(v, y_step)))
        .collect();

    // Seconds since the first tick, so f64 keeps sub-millisecond precision.
    let to_x = |t: i64| (t - first) as f64 / 1e6;
    let mut data: Vec<(usize, Vec<(f64, f64)>)> = Vec::new();
    for (index, series) in chart.series.iter().enumerate() {
        for segment in chart.segments(series) {
            data.push((index, segment.iter().map(|p| (to_x(p.0), p.1)).collect()));
        }
    }
    let mut named = vec![false; chart.series.len()];
    let datasets: Vec<Dataset> = data
        .iter()
        .map(|(index, points)| {
            let style = if colour {
                Style::default().fg(COLOURS[index % COLOURS.len()])
            } else {
                Style::default()
            };
            let marker = if colour {
                Marker::Braille
            } else {
                MARKERS[index % MARKERS.len()]
            };
            let mut dataset = Dataset::default()
                .marker(marker)
                .graph_type(if points.len() > 1 {
                    GraphType::Line
                } else {
                    GraphType::Scatter
                })
                .style(style)
                .data(points);
            if !named[*index] {
                named[*index] = true;
                let name = &chart.series[*index].name;
                let name = if colour {
                    name.clone()
                } else {
                    format!("{} {name}", marker_symbol(marker))
                };
                dataset = dataset.name(name);
            }
            dataset
        })
        .collect();
    let y_title = chart.unit.clone().unwrap_or_default();
    let widget = ChartWidget::new(datasets)
        .x_axis(
            Axis::default()
                .title(chart.zone.name())
                .bounds([0.0, to_x(last)])
                .labels(x_labels),
        )
        .y_axis(
            Axis::default()
                .title(y_title)
                .bounds([y_lo, y_hi])
                .labels(y_labels),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(90), Constraint::Percentage(90)));
    let area = Rect::new(0, 0, width, height);
    let mut buffer = Buffer::empty(area);
    widget.render(area, &mut buffer);
    print_buffer(&buffer, colour)
}

fn marker_symbol(marker: Marker) -> &'static str {
    match marker {
        Marker::Dot => "•",
        Marker::Block => "█",
        Marker::Bar => "▄",
        _ => "⣿",
    }
}

/// The buffer as lines of text, trailing blanks trimmed.
fn print_buffer(buffer: &Buffer, colour: bool) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut current = Color::Reset;
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            if colour && cell.fg != current {
                current = cell.fg;
                line.push_str(&sgr(current));
            }
            line.push_str(cell.symbol());
        }
        if colour && current != Color::Reset {
            line.push_str("\x1b[0m");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn sgr(colour: Color) -> String {
    let code = match colour {
        Color::Red => 31,
        Color::Green => 32,
        Color::Yellow => 33,
        Color::Blue => 34,
        Color::Magenta => 35,
        Color::Cyan => 36,
        _ => 0,
    };
    format!("\x1b[{code}m")
}

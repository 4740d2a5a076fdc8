//! The full screen: ratatui on crossterm (raw mode, alternate screen), the table drawn as a
//! ratatui `Table`, keys read on a thread of their own.

use crate::table::Table;
use crate::Sort;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table as TableWidget};
use ratatui::DefaultTerminal;
use std::time::Instant;
use tokio::sync::mpsc;

/// What a key asks for.
pub enum Key {
    /// q, Esc or Ctrl-C.
    Quit,
    /// s: the next sort order.
    NextSort,
    /// The window changed size (or anything else worth a redraw).
    Redraw,
}

/// Keys from the terminal, read on a thread of their own (crossterm's reads block).
pub fn keys() -> mpsc::Receiver<Key> {
    let (sender, receiver) = mpsc::channel(16);
    std::thread::spawn(move || loop {
        let key = match event::read() {
            Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => match key.code {
                KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
                KeyCode::Char('s') => Key::NextSort,
                _ => continue,
            },
            Ok(Event::Resize(..)) => Key::Redraw,
            Ok(_) => continue,
            Err(_) => Key::Quit,
        };
        if sender.blocking_send(key).is_err() {
            return;
        }
    });
    receiver
}

/// The sort order after `sort`.
pub fn next_sort(sort: Sort) -> Sort {
    match sort {
        Sort::Name => Sort::Age,
        Sort::Age => Sort::Rate,
        Sort::Rate => Sort::Name,
    }
}

/// Draw the table.
pub fn draw(
    terminal: &mut DefaultTerminal,
    table: &Table,
    sort: Sort,
    header: &str,
) -> std::io::Result<()> {
    let now = Instant::now();
    terminal.draw(|frame| {
        let [title, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(frame.area());
        let mut text = format!(
            "dl-top  {header}  sorted by {sort:?} (s)  q quits",
            sort = sort
        );
        if table.dropped > 0 {
            text.push_str(&format!(
                "  ({} alerts of sensors beyond 1000 not shown)",
                table.dropped
            ));
        }
        frame.render_widget(
            Line::from(text).style(Style::new().add_modifier(Modifier::BOLD)),
            title,
        );
        let spark_width = body.width.saturating_sub(58).max(8) as usize;
        let rows = table.sorted(sort).into_iter().map(|(name, row)| {
            Row::new(vec![
                Cell::from(name.clone()),
                Cell::from(row.shown.clone()),
                Cell::from(format!("{:.0}s", now.duration_since(row.at).as_secs_f64())),
                Cell::from(format!("{:.1}/min", table.rate(row))),
                Cell::from(Table::sparkline(row, spark_width)),
            ])
        });
        let widget = TableWidget::new(
            rows,
            [
                Constraint::Length(24),
                Constraint::Length(14),
                Constraint::Length(7),
                Constraint::Length(11),
                Constraint::Min(8),
            ],
        )
        .header(
            Row::new(["SENSOR", "VALUE", "AGE", "RATE", "RECENT"])
                .style(Style::new().add_modifier(Modifier::REVERSED)),
        );
        frame.render_widget(widget, body);
    })?;
    Ok(())
}

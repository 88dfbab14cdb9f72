//! Lists shown as tables: the rows under their column heads, or one line
//! saying there are none.

use leptos::prelude::*;

/// `rows` as a table under `head`, each made by `row` (a `<tr>`); `empty`
/// when there are none. `testid` names the table, `empty_testid` the line.
#[component]
pub fn Rows<T, V, F>(
    head: &'static [&'static str],
    rows: Vec<T>,
    row: F,
    empty: &'static str,
    #[prop(optional)] testid: &'static str,
    #[prop(optional)] empty_testid: &'static str,
) -> impl IntoView
where
    T: 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + 'static,
{
    let named = |id: &'static str| (!id.is_empty()).then_some(id);
    if rows.is_empty() {
        return view! { <p class="muted" data-testid=named(empty_testid)>{empty}</p> }.into_any();
    }
    view! {
        <table class="table" data-testid=named(testid)>
            <thead><tr>{head.iter().map(|title| view! { <th>{*title}</th> }).collect_view()}</tr></thead>
            <tbody>{rows.into_iter().map(row).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

#pragma once
// Renderers of the report model (report.hpp). They only format: every number is in the model.

#include <cstdint>
#include <ostream>

#include <nlohmann/json.hpp>

#include "prober/report/report.hpp"

namespace prober::report {

// Aligned tables a person reads in a terminal; ANSI colour only when color is true (a TTY):
// an SLI below its target red, met green, gaps yellow.
void render_text(std::ostream& out, const Report& report, bool color);

// The JSON document (schema 1, documented in README "Reports"). Absent values are null.
nlohmann::json to_json(const Report& report);

// One self-contained HTML page (inline CSS and SVG, no script, nothing fetched): per journey its
// objectives, SLI over time per location, error budget over the window, the step funnel and the
// latency percentiles per step against the threshold. Plot elements carry their numbers in
// data-* attributes. generated_at_ms: Unix ms shown as the time of generation.
void render_html(std::ostream& out, const Report& report, std::int64_t generated_at_ms);

// People's formats, shared with the HTML renderer: "99.50%" (rounded down to 0.01 %, so that
// "100.00%" means no bad event), "-" for none; budget "-12.5%"; burn "1.25x"; "1200 ms".
std::string format_percent_floor(std::optional<double> percent);
std::string format_budget(std::optional<double> fraction);
std::string format_burn(std::optional<double> rate);
std::string format_ms(std::optional<double> ms);

}  // namespace prober::report

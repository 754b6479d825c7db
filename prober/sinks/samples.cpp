#include "prober/sinks/samples.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "prober/sinks/prom_format.hpp"

namespace prober::sinks {

// One implementation for /metrics, the pushed `le` labels and the alert-rule generator.
std::string format_double(double v) { return prom_format_double(v); }

namespace {

class Collector {
 public:
  void family(std::string name, MetricType type, std::string help) {
    out_.families.push_back({std::move(name), type, std::move(help)});
  }

  void add(std::string suffix, Labels labels, SampleValue v) {
    out_.series.push_back({out_.families.size() - 1, std::move(suffix), std::move(labels), v});
  }
  void counter(Labels labels, std::uint64_t n) { add("_total", std::move(labels), integer(n)); }
  void gauge(Labels labels, double v) { add("", std::move(labels), real(v)); }
  void gauge_int(Labels labels, std::uint64_t n) { add("", std::move(labels), integer(n)); }

  // _bucket{le} cumulative up to +Inf (== _count), then _sum and _count.
  void histogram(Labels labels, const record::Histogram& h) {
    const auto& bounds = h.bounds();
    const auto& counts = h.counts();
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += counts[i];
      Labels l = labels;
      l.emplace_back("le", format_double(bounds[i]));
      add("_bucket", std::move(l), integer(cumulative));
    }
    Labels inf = labels;
    inf.emplace_back("le", "+Inf");
    add("_bucket", std::move(inf), integer(h.count()));
    add("_sum", labels, real(h.sum()));
    add("_count", std::move(labels), integer(h.count()));
  }

  Samples take() { return std::move(out_); }

 private:
  static SampleValue integer(std::uint64_t n) { return {true, n, 0}; }
  static SampleValue real(double v) { return {false, 0, v}; }
  Samples out_;
};

// A map keyed by Reason, as (name, count) sorted by name: series sorted by label value.
std::vector<std::pair<std::string, std::uint64_t>> by_name(
    const std::map<record::Reason, std::uint64_t>& m) {
  std::vector<std::pair<std::string, std::uint64_t>> v;
  v.reserve(m.size());
  for (const auto& [reason, n] : m) v.emplace_back(std::string(record::to_string(reason)), n);
  std::sort(v.begin(), v.end());
  return v;
}

Labels step_labels(const record::StepKey& k) {
  return {{"journey", k.journey}, {"step", k.step}, {"location", k.location}};
}

}  // namespace

Samples collect_samples(const record::Recorder& recorder, const engine::SchedulerStats* self,
                        const std::vector<PushSinkStats>& push) {
  Collector c;
  const auto& steps = recorder.steps();
  const auto& journeys = recorder.journeys();

  // Steps map is ordered by (journey, step, location): label order, so series come sorted.
  c.family("prober_step_events", MetricType::counter,
           "Step outcomes: good and bad are valid events of the SLI; skipped follow an earlier "
           "failed step; invalid were spoiled by the prober itself.");
  for (const auto& [k, s] : steps) {
    // Alphabetical by result, so sorted within a step too.
    const std::array<std::pair<std::string_view, std::uint64_t>, 4> results{
        {{"bad", s.bad}, {"good", s.good}, {"invalid", s.invalid}, {"skipped", s.skipped}}};
    for (const auto& [result, n] : results) {
      Labels l = step_labels(k);
      l.emplace_back("result", result);
      c.counter(std::move(l), n);
    }
  }

  c.family("prober_step_bad", MetricType::counter, "Bad step events by reason.");
  for (const auto& [k, s] : steps)
    for (const auto& [reason, n] : by_name(s.bad_by_reason)) {
      Labels l = step_labels(k);
      l.emplace_back("reason", reason);
      c.counter(std::move(l), n);
    }

  c.family("prober_step_invalid", MetricType::counter,
           "Invalid step events (the prober's fault, not in the SLI) by reason.");
  for (const auto& [k, s] : steps)
    for (const auto& [reason, n] : by_name(s.invalid_by_reason)) {
      Labels l = step_labels(k);
      l.emplace_back("reason", reason);
      c.counter(std::move(l), n);
    }

  c.family("prober_step_latency_seconds", MetricType::histogram,
           "Total latency of good and bad step attempts that got an answer.");
  for (const auto& [k, s] : steps) c.histogram(step_labels(k), s.latency);

  c.family("prober_journey_runs", MetricType::counter,
           "Journey runs by result: good when every step was good.");
  for (const auto& [k, j] : journeys) {
    const std::array<std::pair<std::string_view, std::uint64_t>, 3> results{
        {{"bad", j.runs_bad}, {"good", j.runs_good}, {"invalid", j.runs_invalid}}};
    for (const auto& [result, n] : results)
      c.counter({{"journey", k.journey}, {"location", k.location}, {"result", std::string(result)}},
                n);
  }

  c.family("prober_journey_missed_slots", MetricType::counter,
           "Slots skipped because the previous run of the journey was still going.");
  for (const auto& [k, j] : journeys)
    c.counter({{"journey", k.journey}, {"location", k.location}}, j.missed_slots);

  // The series of journey-level latency SLOs: good runs only (the timed-out runs a latency SLO
  // also counts as valid are in prober_step_bad_total{reason="timeout"}); same buckets as the
  // step latency, so every latency SLO threshold is a bound.
  c.family("prober_journey_duration_seconds", MetricType::histogram,
           "Duration of good journey runs (every step good), from the start to the end of the "
           "last step.");
  for (const auto& [k, j] : journeys)
    c.histogram({{"journey", k.journey}, {"location", k.location}}, j.duration);

  if (self != nullptr) {
    c.family("prober_schedule_lag_seconds", MetricType::histogram,
             "How late runs started after their slot.");
    c.histogram({}, self->schedule_lag);

    c.family("prober_late_starts", MetricType::counter,
             "Slots reached too late to run, recorded as invalid (late_start).");
    c.counter({}, self->late_starts);

    c.family("prober_loop_stalls", MetricType::counter,
             "Event loop stalls longer than the threshold; runs in flight were recorded invalid.");
    c.counter({}, self->stalls);

    c.family("prober_loop_stall_max_seconds", MetricType::gauge,
             "Longest event loop stall seen.");
    c.gauge({}, self->loop_stall_max_ms / 1000);
  }

  if (!push.empty()) {
    std::vector<const PushSinkStats*> sorted;
    for (const auto& s : push) sorted.push_back(&s);
    std::sort(sorted.begin(), sorted.end(),
              [](const PushSinkStats* a, const PushSinkStats* b) { return a->name < b->name; });

    c.family("prober_sink_queued_samples", MetricType::gauge,
             "Samples waiting in a push sink's queue, in memory and spilled to disk.");
    for (const auto* s : sorted) c.gauge_int({{"sink", s->name}}, s->queued);

    c.family("prober_sink_sent_samples", MetricType::counter,
             "Samples a push sink delivered (the store answered 2xx).");
    for (const auto* s : sorted) c.counter({{"sink", s->name}}, s->sent);

    c.family("prober_sink_dropped_samples", MetricType::counter,
             "Samples a push sink dropped: queue_full past the queue and spill bound (or still "
             "queued when the shutdown grace ended), rejected when the store answered 4xx.");
    for (const auto* s : sorted) {
      c.counter({{"sink", s->name}, {"reason", "queue_full"}}, s->dropped_queue_full);
      c.counter({{"sink", s->name}, {"reason", "rejected"}}, s->dropped_rejected);
    }

    c.family("prober_sink_send_failures", MetricType::counter,
             "Push requests that failed and were retried: network errors, timeouts, 5xx, 429.");
    for (const auto* s : sorted) c.counter({{"sink", s->name}}, s->send_failures);

    c.family("prober_sink_spilled_bytes", MetricType::gauge,
             "Bytes a push sink holds in its spill_dir.");
    for (const auto* s : sorted) c.gauge_int({{"sink", s->name}}, s->spilled_bytes);
  }
  return c.take();
}

}  // namespace prober::sinks

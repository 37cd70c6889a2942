/* metrics.c : owns the Prometheus text exposition of the daemon's counters. */
#include <stdio.h>

#include <event2/buffer.h>

#include "callogd/metrics.h"

const double cl_hist_bounds[CL_HIST_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                0.005,   0.01,   0.025,   0.05,   0.1,   1.0};

void
cl_hist_observe(struct cl_hist *h, double seconds)
{
	int i = 0;

	while (i < CL_HIST_BUCKETS && seconds > cl_hist_bounds[i])
		i++;
	h->counts[i]++;
	h->n++;
	h->sum += seconds;
}

static void
hist(struct evbuffer *b, const char *name, const char *help, const struct cl_hist *h)
{
	uint64_t cum = 0;

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < CL_HIST_BUCKETS; i++) {
		cum += h->counts[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, cl_hist_bounds[i], (unsigned long long)cum);
	}
	cum += h->counts[CL_HIST_BUCKETS];
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", name,
	                    (unsigned long long)cum, name, h->sum, name, (unsigned long long)h->n);
}

static void
counter(struct evbuffer *b, const char *name, const char *help, unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

static void
gauge(struct evbuffer *b, const char *name, const char *help, unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name, v);
}

int
cl_metrics_gauge(struct cl_metrics *m, const char *name, const char *help, uint64_t (*read)(void *arg), void *arg)
{
	if (m->ngauges >= CL_METRICS_GAUGES)
		return -1;
	m->gauges[m->ngauges++] = (struct cl_gauge){name, help, read, arg};
	return 0;
}

void
cl_metrics_render(const struct cl_metrics *m, struct evbuffer *b)
{
	static const char *const results[] = {"accepted", "duplicate", "failed"};
	static const char *const kinds[] = {"events", "console", "sse", "http"};

	evbuffer_add_printf(b, "# HELP callogd_events_total Call events by type and result.\n"
	                       "# TYPE callogd_events_total counter\n");
	for (int t = 0; t < CL_EV__COUNT; t++)
		for (int r = 0; r < 3; r++)
			evbuffer_add_printf(b, "callogd_events_total{type=\"%s\",result=\"%s\"} %llu\n",
			                    cl_event_type_name((enum cl_event_type)t), results[r],
			                    (unsigned long long)m->events[t][r]);
	evbuffer_add_printf(b, "# HELP callogd_errors_total Error answers by code.\n"
	                       "# TYPE callogd_errors_total counter\n");
	for (int e = CL_EVERR_BAD_JSON; e <= CL_EVERR_AUTH; e++)
		evbuffer_add_printf(b, "callogd_errors_total{code=\"%s\"} %llu\n",
		                    cl_event_error_name((enum cl_event_error)e), (unsigned long long)m->errors[e]);
	counter(b, "callogd_pops_total", "Screen-pops sent to agents.", m->pops);
	counter(b, "callogd_call_messages_total", "Call state messages sent to agents.", m->call_msgs);
	counter(b, "callogd_retractions_total", "Pops retracted when another agent answered.", m->retracts);
	counter(b, "callogd_pop_updates_total", "Pops sent again when their call's caller lookup ended.",
	        m->pop_updates);
	counter(b, "callogd_lookups_late_total", "Calls whose pops went out before their lookup ended.",
	        m->lookup_late);
	counter(b, "callogd_lookups_refused_total", "Caller lookups not started (worker queue full).",
	        m->lookups_refused);
	counter(b, "callogd_live_data_dropped_total", "Calls popped without their data: pops.data_memory was full.",
	        m->live_data_dropped);
	hist(b, "callogd_pop_latency_seconds", "From the event read to the pop written.", &m->pop_latency);
	counter(b, "callogd_commits_total", "Database transactions committed or failed.", m->commits);
	counter(b, "callogd_committed_events_total", "Events committed (and duplicates answered).",
	        m->committed_events);
	hist(b, "callogd_commit_seconds", "Time of one group commit, fsync included.", &m->commit_time);
	evbuffer_add_printf(b,
	                    "# HELP callogd_commit_batch_events Events per group commit (average).\n"
	                    "# TYPE callogd_commit_batch_events gauge\ncallogd_commit_batch_events %.2f\n",
	                    m->commits ? (double)m->committed_events / (double)m->commits : 0.0);
	evbuffer_add_printf(b, "# HELP callogd_connections Open connections by kind.\n"
	                       "# TYPE callogd_connections gauge\n");
	for (int k = 0; k < CL_CONN__COUNT; k++)
		evbuffer_add_printf(b, "callogd_connections{kind=\"%s\"} %llu\n", kinds[k],
		                    (unsigned long long)m->connections[k]);
	evbuffer_add_printf(b, "# HELP callogd_connections_accepted_total Connections accepted by kind.\n"
	                       "# TYPE callogd_connections_accepted_total counter\n");
	for (int k = 0; k < CL_CONN__COUNT; k++)
		evbuffer_add_printf(b, "callogd_connections_accepted_total{kind=\"%s\"} %llu\n", kinds[k],
		                    (unsigned long long)m->accepted[k]);
	evbuffer_add_printf(b, "# HELP callogd_connections_refused_total Connections refused at a limit.\n"
	                       "# TYPE callogd_connections_refused_total counter\n");
	for (int k = 0; k < CL_CONN__COUNT; k++)
		evbuffer_add_printf(b, "callogd_connections_refused_total{kind=\"%s\"} %llu\n", kinds[k],
		                    (unsigned long long)m->refused[k]);
	counter(b, "callogd_slow_consoles_dropped_total", "Consoles dropped for not reading.",
	        m->slow_consoles_dropped);
	counter(b, "callogd_replay_skipped_total", "Messages not kept for replay: pops.replay_memory was full.",
	        m->replay_skipped);
	for (int i = 0; i < m->ngauges; i++)
		gauge(b, m->gauges[i].name, m->gauges[i].help, m->gauges[i].read(m->gauges[i].arg));
	static const char *const crm[] = {"hit",    "miss",     "timeout",   "connect",
	                                  "status", "bad_body", "too_large", "error"};
	evbuffer_add_printf(b, "# HELP callogd_crm_requests_total CRM lookup requests by result.\n"
	                       "# TYPE callogd_crm_requests_total counter\n");
	for (int r = 0; r < CL_CRM__RESULTS; r++)
		evbuffer_add_printf(b, "callogd_crm_requests_total{result=\"%s\"} %llu\n", crm[r],
		                    (unsigned long long)m->crm_requests[r]);
	hist(b, "callogd_crm_latency_seconds", "CRM lookup requests, from start to answer.", &m->crm_latency);
	counter(b, "callogd_crm_cache_hits_total", "CRM lookups answered from the cache.", m->crm_cache_hits);
	counter(b, "callogd_crm_not_started_total", "CRM lookups that could not start before their pop's deadline.",
	        m->crm_not_started);
	counter(b, "callogd_crm_skipped_total", "CRM lookups not made: breaker open or too many waiting.",
	        m->crm_skipped);
	counter(b, "callogd_crm_breaker_opens_total", "Times the CRM breaker opened.", m->crm_breaker_opens);
	static const char *const hook[] = {"delivered", "retried", "failed"};
	evbuffer_add_printf(b, "# HELP callogd_webhook_deliveries_total Webhook tries by result.\n"
	                       "# TYPE callogd_webhook_deliveries_total counter\n");
	for (int r = 0; r < CL_HOOK__RESULTS; r++)
		evbuffer_add_printf(b, "callogd_webhook_deliveries_total{result=\"%s\"} %llu\n", hook[r],
		                    (unsigned long long)m->hook_deliveries[r]);
	counter(b, "callogd_reloads_total", "SIGHUP reloads.", m->reloads);
	counter(b, "callogd_reload_failures_total", "Reloads refused for a broken config.", m->reload_failures);
	gauge(b, "callogd_start_time_seconds", "When the daemon started (Unix time).",
	      (unsigned long long)(m->started_ms / 1000));
	if (m->render_more)
		m->render_more(m->render_more_arg, b);
}

// Package dashboards generates tollgate's Grafana dashboards from Go with the Grafana Foundation
// SDK (github.com/grafana/grafana-foundation-sdk/go): dashboard JSON, schema version 42, for the
// series of package metrics (and its SDK bridge, and the emulator's server-side series), plus
// the provisioning files that load them into Grafana and a Prometheus scrape configuration.
//
// Every dashboard has the variables datasource (a Prometheus data source), job, aws_service and
// operation, and every query filters on them. The dashboards:
//
//   - tollgate-overview, "tollgate: AWS API throttling" — rows Overview (call rate, throttle
//     ratio, attempts per call, retry budget left, failures, in-flight calls), Throttling (by
//     operation and error code, ratio), Retries (by reason, refusals, attempts per call, budget),
//     Backoff (delay heatmap, p50/p90/p99, time spent), Limiter (wait heatmap and quantiles,
//     tokens against capacity, headroom, refill rate, refusals) and Latency (call and attempt
//     duration quantiles, in-flight calls);
//   - tollgate-sdk, "tollgate: AWS SDK client" — the SDK's own instruments, bridged by
//     metrics/sdkmetrics: calls, attempts, errors, latency, phases, HTTP;
//   - tollgate-emulator, "tollgate: emulator (server side)" — what the emulator answered during a
//     `tollgate-live load` run, to compare with what the clients saw.
//
// Write them with `tollgate-live dashboard --out DIR`, or from Go with WriteFiles.
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Variable names, shared by every dashboard.
const (
	VarDatasource = "datasource"
	VarJob        = "job"
	VarService    = "aws_service"
	VarOperation  = "operation"
)

// SchemaVersion is the dashboard JSON schema version the dashboards are written in.
const SchemaVersion = 42

// Dashboard is one generated dashboard.
type Dashboard struct {
	UID   string // e.g. "tollgate-overview"; also the file name without ".json"
	Title string
	Model dashboard.Dashboard
}

// FileName is the dashboard's file name: its UID with ".json".
func (d Dashboard) FileName() string { return d.UID + ".json" }

// JSON returns the dashboard's JSON, indented, with a final newline.
func (d Dashboard) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(d.Model, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboards: %s: %w", d.UID, err)
	}
	return append(b, '\n'), nil
}

// All builds every dashboard, in a fixed order.
func All() ([]Dashboard, error) {
	var out []Dashboard
	for _, build := range []func() (Dashboard, error){Overview, SDK, Emulator} {
		d, err := build()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// build finishes a dashboard builder into a Dashboard.
func build(uid string, b *dashboard.DashboardBuilder) (Dashboard, error) {
	m, err := b.Build()
	if err != nil {
		return Dashboard{}, fmt.Errorf("dashboards: %s: %w", uid, err)
	}
	number(&m)
	return Dashboard{UID: uid, Title: *m.Title, Model: m}, nil
}

// number gives every panel and row a unique id (1, 2, ...) and every query of a panel a refId
// (A, B, ...), as Grafana expects of provisioned dashboards.
func number(m *dashboard.Dashboard) {
	id := uint32(0)
	refIDs := func(p *dashboard.Panel) {
		for i, q := range p.Targets {
			if pq, ok := asPrometheus(q); ok && (pq.RefId == nil || *pq.RefId == "") {
				pq.RefId = cog.ToPtr(string(rune('A' + i)))
				p.Targets[i] = pq
			}
		}
	}
	for _, p := range m.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = cog.ToPtr(id)
			refIDs(p.Panel)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = cog.ToPtr(id)
				refIDs(&p.RowPanel.Panels[i])
			}
		}
	}
}

// asPrometheus returns a copy of q if it is a Prometheus query (a value when built, a pointer
// when decoded).
func asPrometheus(q variants.Dataquery) (prometheus.Dataquery, bool) {
	switch pq := q.(type) {
	case prometheus.Dataquery:
		return pq, true
	case *prometheus.Dataquery:
		if pq != nil {
			return *pq, true
		}
	}
	return prometheus.Dataquery{}, false
}

// newDashboard starts a dashboard with tollgate's settings and the four variables; metric is
// the series whose labels the variables list.
func newDashboard(uid, title, description, metric string) *dashboard.DashboardBuilder {
	labelValues := func(name, sel string) *dashboard.QueryVariableBuilder {
		q := fmt.Sprintf("label_values(%s%s, %s)", metric, sel, name)
		return dashboard.NewQueryVariableBuilder(name).Datasource(datasource()).
			Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).Definition(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
			Multi(true).IncludeAll(true).AllValue(".*").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
	}
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).
		Tags([]string{"tollgate", "aws", "throttling"}).Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("10s").Time("now-30m", "now").Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder(VarDatasource).Label("Data source").Type("prometheus")).
		WithVariable(labelValues(VarJob, "").Label("Job")).
		WithVariable(labelValues(VarService, `{job=~"$job"}`).Label("AWS service")).
		WithVariable(labelValues(VarOperation, `{job=~"$job", aws_service=~"$aws_service"}`).Label("Operation"))
}

// ParseStrict decodes dashboard JSON with the Foundation SDK's strict decoders, which reject
// unknown fields, missing required fields and wrongly typed ones, in the dashboard, its panels
// and each Prometheus query.
//
// Two quirks of the SDK (v0.0.22) are handled here: its strict decoders return an empty, non-nil
// error list on success; and, because of that, its strict dashboard decoder drops every panel
// query it decoded without fault. So ParseStrict checks the dashboard strictly, then each query
// strictly on its own, and returns the dashboard as the SDK's ordinary decoder reads it, queries
// included.
func ParseStrict(data []byte) (dashboard.Dashboard, error) {
	registerPlugins()
	var strict dashboard.Dashboard
	if err := failed(strict.UnmarshalJSONStrict(data)); err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("dashboards: strict parse: %w", err)
	}
	var raw struct {
		Panels []rawPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("dashboards: %w", err)
	}
	for _, p := range raw.Panels {
		for _, p := range append([]rawPanel{p}, p.Panels...) {
			for i, t := range p.Targets {
				var q prometheus.Dataquery
				if err := failed(q.UnmarshalJSONStrict(t)); err != nil {
					return dashboard.Dashboard{}, fmt.Errorf("dashboards: strict parse: panel %q: targets[%d]: %w", p.Title, i, err)
				}
			}
		}
	}
	var d dashboard.Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("dashboards: %w", err)
	}
	return d, nil
}

// rawPanel is what ParseStrict needs of a panel to check its queries one by one.
type rawPanel struct {
	Title   string            `json:"title"`
	Targets []json.RawMessage `json:"targets"`
	Panels  []rawPanel        `json:"panels"` // a collapsed row's panels
}

// failed turns the SDK's strict-decoder result into a real error: nil for nil or an empty
// cog.BuildErrors.
func failed(err error) error {
	var be cog.BuildErrors
	if err == nil || (errors.As(err, &be) && len(be) == 0) {
		return nil
	}
	return err
}

var registerPlugins = sync.OnceFunc(plugins.RegisterDefaultPlugins)

// Target is one query of one panel.
type Target struct {
	Panel  string // the panel's title
	Row    string // the title of the row the panel is in ("" before the first row)
	RefID  string
	Expr   string
	Format string // "time_series", "heatmap", ...
}

// Targets lists every Prometheus query of every panel of d, rows' panels included, in order.
func Targets(d dashboard.Dashboard) []Target {
	var out []Target
	row := ""
	add := func(p *dashboard.Panel) {
		title := ""
		if p.Title != nil {
			title = *p.Title
		}
		for _, q := range p.Targets {
			pq, ok := asPrometheus(q)
			if !ok {
				continue
			}
			t := Target{Panel: title, Row: row, Expr: pq.Expr}
			if pq.RefId != nil {
				t.RefID = *pq.RefId
			}
			if pq.Format != nil {
				t.Format = string(*pq.Format)
			}
			out = append(out, t)
		}
	}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			add(p.Panel)
		case p.RowPanel != nil:
			if p.RowPanel.Title != nil {
				row = *p.RowPanel.Title
			}
			for i := range p.RowPanel.Panels {
				add(&p.RowPanel.Panels[i])
			}
		}
	}
	return out
}

// Variable is a query variable: its name and its query (Grafana's label_values(...) form).
type Variable struct{ Name, Query string }

// Variables lists d's query variables.
func Variables(d dashboard.Dashboard) []Variable {
	var out []Variable
	for _, v := range d.Templating.List {
		if v.Type != "query" || v.Query == nil {
			continue
		}
		q := ""
		if v.Query.String != nil {
			q = *v.Query.String
		}
		out = append(out, Variable{Name: v.Name, Query: q})
	}
	return out
}

// Expand replaces Grafana's variables in a query with values Prometheus can evaluate: the
// dashboard variables with ".*" (every value), $__rate_interval with rateInterval and $__range
// and $__interval with rangeInterval.
func Expand(expr, rateInterval, rangeInterval string) string {
	r := strings.NewReplacer(
		"$__rate_interval", rateInterval, "${__rate_interval}", rateInterval,
		"$__range", rangeInterval, "$__interval", rangeInterval,
		"$"+VarJob, ".*", "$"+VarService, ".*", "$"+VarOperation, ".*",
		"${"+VarJob+"}", ".*", "${"+VarService+"}", ".*", "${"+VarOperation+"}", ".*",
	)
	return r.Replace(expr)
}

package dashboards_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	grafana "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate/tollgate/backoff"
	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/metrics"
	"github.com/tollgate/tollgate/metrics/dashboards"
	"github.com/tollgate/tollgate/metrics/sdkmetrics"
)

func all(t *testing.T) []dashboards.Dashboard {
	t.Helper()
	ds, err := dashboards.All()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestDashboardsParseStrictly round-trips every dashboard through its JSON and the Foundation
// SDK's strict decoder, and checks what the decoded dashboard holds.
func TestDashboardsParseStrictly(t *testing.T) {
	for _, d := range all(t) {
		t.Run(d.UID, func(t *testing.T) {
			data, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			got, err := dashboards.ParseStrict(data)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			if raw["schemaVersion"] != float64(42) || got.SchemaVersion != dashboards.SchemaVersion {
				t.Errorf("schemaVersion %v, want 42", raw["schemaVersion"])
			}
			if got.Uid == nil || *got.Uid != d.UID {
				t.Errorf("uid %v, want %s", got.Uid, d.UID)
			}
			var vars []string
			for _, v := range got.Templating.List {
				vars = append(vars, v.Name)
			}
			if want := []string{"datasource", "job", "aws_service", "operation"}; !slices.Equal(vars, want) {
				t.Errorf("variables %v, want %v", vars, want)
			}
			targets := dashboards.Targets(got)
			if len(targets) < 3 {
				t.Fatalf("%d targets decoded, want them all", len(targets))
			}
			refs := map[string]bool{}
			for _, tg := range targets {
				if tg.Expr == "" || tg.RefID == "" {
					t.Errorf("panel %q: target with empty expr or refId: %+v", tg.Panel, tg)
				}
				if refs[tg.Panel+"/"+tg.RefID] {
					t.Errorf("panel %q: refId %s used twice", tg.Panel, tg.RefID)
				}
				refs[tg.Panel+"/"+tg.RefID] = true
				if !strings.Contains(tg.Expr, `job=~"$job"`) {
					t.Errorf("panel %q: query ignores $job: %s", tg.Panel, tg.Expr)
				}
				if strings.Contains(tg.Expr, "rate(") && !strings.Contains(tg.Expr, "[$__rate_interval]") {
					t.Errorf("panel %q: rate without $__rate_interval: %s", tg.Panel, tg.Expr)
				}
			}
			// Every panel and every query reads from the datasource variable; ids are unique.
			ids := map[uint32]bool{}
			for _, p := range got.Panels {
				switch {
				case p.Panel != nil:
					if p.Panel.Datasource == nil || p.Panel.Datasource.Uid == nil || *p.Panel.Datasource.Uid != "${datasource}" {
						t.Errorf("panel %v does not use ${datasource}", p.Panel.Title)
					}
					if p.Panel.Id == nil || ids[*p.Panel.Id] {
						t.Errorf("panel %v: missing or duplicate id", *p.Panel.Title)
					} else {
						ids[*p.Panel.Id] = true
					}
				case p.RowPanel != nil:
					if ids[p.RowPanel.Id] {
						t.Errorf("row %v: duplicate id", p.RowPanel.Title)
					}
					ids[p.RowPanel.Id] = true
				}
			}
			for _, q := range bytes.Split(data, []byte(`"datasource": {`))[1:] {
				if !bytes.Contains(q[:80], []byte(`"uid": "${datasource}"`)) {
					t.Errorf("a datasource reference is not ${datasource}: %s", q[:80])
				}
			}
		})
	}
}

func TestOverviewHasTheRowsAndPanelsAskedFor(t *testing.T) {
	d, err := dashboards.Overview()
	if err != nil {
		t.Fatal(err)
	}
	panelsByRow := map[string][]string{}
	var rows []string
	for _, tg := range dashboards.Targets(d.Model) {
		if !slices.Contains(rows, tg.Row) {
			rows = append(rows, tg.Row)
		}
		if !slices.Contains(panelsByRow[tg.Row], tg.Panel) {
			panelsByRow[tg.Row] = append(panelsByRow[tg.Row], tg.Panel)
		}
	}
	if want := []string{"Overview", "Throttling", "Retries", "Backoff", "Limiter", "Latency"}; !slices.Equal(rows, want) {
		t.Errorf("rows %v, want %v", rows, want)
	}
	for row, want := range map[string][]string{
		"Overview":   {"Call rate", "Throttle ratio", "Attempts per call", "Retry budget left"},
		"Throttling": {"Throttles by operation", "Throttles by error code"},
		"Retries":    {"Retries by reason"},
		"Backoff":    {"Backoff delay", "Backoff delay quantiles"},
		"Limiter":    {"Limiter wait", "Tokens against capacity", "Refill rate", "Limiter refusals"},
		"Latency":    {"Call duration"},
	} {
		for _, p := range want {
			if !slices.Contains(panelsByRow[row], p) {
				t.Errorf("row %s lacks panel %q (has %v)", row, p, panelsByRow[row])
			}
		}
	}
	// The heatmaps query bucket rates in Grafana's heatmap format.
	heatmaps := 0
	for _, p := range d.Model.Panels {
		if p.Panel != nil && p.Panel.Type == "heatmap" {
			heatmaps++
			tg := dashboards.Targets(dashboardOf(*p.Panel.Title, d))
			if len(tg) != 1 || tg[0].Format != "heatmap" || !strings.Contains(tg[0].Expr, "_bucket") {
				t.Errorf("heatmap %q: targets %+v", *p.Panel.Title, tg)
			}
		}
	}
	if heatmaps != 2 {
		t.Errorf("%d heatmaps, want 2 (backoff delay, limiter wait)", heatmaps)
	}
}

type dashboardModel = grafana.Dashboard

// dashboardOf returns d restricted to the panel titled title.
func dashboardOf(title string, d dashboards.Dashboard) (out dashboardModel) {
	out = d.Model
	out.Panels = nil
	for _, p := range d.Model.Panels {
		if p.Panel != nil && *p.Panel.Title == title {
			out.Panels = append(out.Panels, p)
		}
	}
	return out
}

var metricName = regexp.MustCompile(`tollgate_[a-z0-9_]+`)

// TestQueriesNameExportedMetrics checks every metric a query names is one tollgate exports:
// the collector's families (after every kind of event), the SDK bridge's, the emulator's.
func TestQueriesNameExportedMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := metrics.Register(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdkmetrics.NewMeterProvider(reg, sdkmetrics.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []event.Kind{event.CallStarted, event.CallFinished, event.AttemptFinished, event.BackoffScheduled,
		event.RetryRefused, event.LimiterWaited, event.LimiterRefused, event.BudgetLevel} {
		c.Observe(event.Event{Kind: k, Service: "S3", Operation: "GetObject", Outcome: backoff.Throttle, Rule: "s3-read",
			Value: 1, Capacity: 2, Budget: "b", Reason: "budget"})
	}
	c.Observe(event.Event{Kind: event.RateChanged, Service: "S3", Operation: "GetObject", Rule: "s3-read", Value: 1, Capacity: 2, Reason: "cut"})
	exported := map[string]bool{"tollgate_emulator_requests_total": true}
	// The SDK bridge's histograms have no series until used; their names are documented.
	for _, n := range []string{"client.call.duration", "client.call.attempt_duration", "client.call.serialization_duration",
		"client.call.deserialization_duration", "client.call.resolve_endpoint_duration", "client.call.auth.resolve_identity_duration",
		"client.call.auth.signing_duration", "client.http.do_request_duration", "client.http.time_to_first_byte",
		"client.http.connections.acquire_duration"} {
		name, _ := sdkmetrics.PrometheusName(n, "s", false)
		exported[name] = true
	}
	for _, n := range []string{"client.call.attempts", "client.call.errors"} {
		name, _ := sdkmetrics.PrometheusName(n, "", true)
		exported[name] = true
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[mf.GetName()+s] = true
			}
		}
	}
	for n := range exported {
		if strings.HasPrefix(n, "tollgate_sdk_") && !strings.HasSuffix(n, "_total") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				exported[n+s] = true
			}
		}
	}
	for _, d := range all(t) {
		for _, tg := range dashboards.Targets(d.Model) {
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				if !exported[n] {
					t.Errorf("%s / %q: query names %s, which tollgate does not export", d.UID, tg.Panel, n)
				}
			}
		}
	}
}

func TestParseStrictRejectsUnknownFields(t *testing.T) {
	data, err := all(t)[0].JSON()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte(`"schemaVersion": 42,`), []byte(`"schemaVersion": 42, "bogusField": 1,`), 1)
	if _, err := dashboards.ParseStrict(bad); err == nil || !strings.Contains(err.Error(), "bogusField") {
		t.Errorf("ParseStrict accepted an unknown field: %v", err)
	}
	badPanel := bytes.Replace(data, []byte(`"title": "Call rate",`), []byte(`"title": "Call rate", "titel": "x",`), 1)
	if _, err := dashboards.ParseStrict(badPanel); err == nil || !strings.Contains(err.Error(), "titel") {
		t.Errorf("ParseStrict accepted an unknown panel field: %v", err)
	}
	badQuery := bytes.Replace(data, []byte(`"legendFormat": "calls/s",`), []byte(`"legendFormat": "calls/s", "exprr": "up",`), 1)
	if _, err := dashboards.ParseStrict(badQuery); err == nil || !strings.Contains(err.Error(), "exprr") {
		t.Errorf("ParseStrict accepted an unknown query field: %v", err)
	}
}

func TestExpand(t *testing.T) {
	got := dashboards.Expand(`sum(rate(x{job=~"$job", aws_service=~"${aws_service}", operation=~"$operation"}[$__rate_interval])) + increase(y[$__range])`, "30s", "5m")
	want := `sum(rate(x{job=~".*", aws_service=~".*", operation=~".*"}[30s])) + increase(y[5m])`
	if got != want {
		t.Errorf("Expand = %s\nwant      %s", got, want)
	}
}

// TestWriteFiles writes the dashboards and provisioning files, parses them back, and has
// promtool check the Prometheus configuration when promtool is installed.
func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := dashboards.WriteFiles(dir, dashboards.Provisioning{Targets: []string{"127.0.0.1:9999"}, ScrapeInterval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dashboards/tollgate-overview.json", "dashboards/tollgate-sdk.json", "dashboards/tollgate-emulator.json",
		dashboards.GrafanaDashboardsFile, dashboards.GrafanaDatasourcesFile, dashboards.PrometheusConfigFile}
	if !slices.Equal(files, want) {
		t.Errorf("files %v, want %v", files, want)
	}
	for _, f := range files[:3] {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dashboards.ParseStrict(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	abs, _ := filepath.Abs(filepath.Join(dir, "dashboards"))
	for file, wants := range map[string][]string{
		dashboards.GrafanaDashboardsFile:  {"apiVersion: 1", "type: file", "path: " + abs},
		dashboards.GrafanaDatasourcesFile: {"type: prometheus", "uid: tollgate-prometheus", "url: http://127.0.0.1:9090", "timeInterval: 2s"},
		dashboards.PrometheusConfigFile:   {"scrape_interval: 2s", "job_name: tollgate", "127.0.0.1:9999"},
	} {
		got := read(file)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q:\n%s", file, w, got)
			}
		}
	}

	for _, bad := range []dashboards.Provisioning{
		{PrometheusURL: "127.0.0.1:9090"}, {Targets: []string{"nohost"}}, {ScrapeInterval: 1500 * time.Millisecond},
	} {
		if _, err := dashboards.WriteFiles(t.TempDir(), bad); err == nil || !strings.HasPrefix(err.Error(), "dashboards: ") {
			t.Errorf("WriteFiles(%+v) = %v, want a dashboards: error", bad, err)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("TOLLGATE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("promtool not on PATH (TOLLGATE_REQUIRE_INTEGRATION=1); install Debian's prometheus package")
		}
		t.Skip("promtool not on PATH: install Debian's prometheus package to check the generated Prometheus config")
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, dashboards.PrometheusConfigFile)).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// datasource is the reference every panel and query uses: the dashboard's datasource variable.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${" + VarDatasource + "}")}
}

// query is one Prometheus target.
func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource()).Expr(expr).LegendFormat(legend).Range()
}

// selector returns the label matchers of a dashboard's variables, plus extra matchers.
func selector(extra ...string) string {
	m := []string{`job=~"$job"`, `aws_service=~"$aws_service"`, `operation=~"$operation"`}
	return "{" + strings.Join(append(m, extra...), ", ") + "}"
}

// jobSelector filters by job only, for series without aws_service and operation.
const jobSelector = `{job=~"$job"}`

// rate is rate(metric{selector}[$__rate_interval]).
func rate(metric, sel string) string {
	return fmt.Sprintf("rate(%s%s[$__rate_interval])", metric, sel)
}

// sumRate is sum by (by) (rate(...)), or sum(rate(...)) when by is "".
func sumRate(by, metric, sel string) string {
	if by == "" {
		return "sum(" + rate(metric, sel) + ")"
	}
	return fmt.Sprintf("sum by (%s) (%s)", by, rate(metric, sel))
}

// quantile is histogram_quantile(q, sum by (le[, by]) (rate(metric_bucket{sel}[...]))).
func quantile(q float64, by, metric, sel string) string {
	le := "le"
	if by != "" {
		le = "le, " + by
	}
	return fmt.Sprintf("histogram_quantile(%g, %s)", q, sumRate(le, metric+"_bucket", sel))
}

// size is a panel's width and height in grid units (24 columns).
type size struct{ w, h uint32 }

var (
	statSize  = size{4, 4}
	halfSize  = size{12, 8}
	thirdSize = size{8, 8}
)

// timeSeries is a time series panel.
func timeSeries(title, description, unit string, sz size, targets ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(description).Datasource(datasource()).
		Unit(unit).Min(0).Span(sz.w).Height(sz.h).
		FillOpacity(10).LineWidth(1).ShowPoints(common.VisibilityModeNever).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	for _, t := range targets {
		p = p.WithTarget(t)
	}
	return p
}

// stacked makes a time series panel stack its series.
func stacked(p *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return p.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).FillOpacity(40)
}

// statPanel is a single-value panel with a sparkline; thresholds, if any, are (value, color)
// steps above green.
func statPanel(title, description, unit string, target *prometheus.DataqueryBuilder, steps ...threshold) *stat.PanelBuilder {
	th := []dashboard.Threshold{{Color: "green"}} // the base step has a null value
	for _, s := range steps {
		th = append(th, dashboard.Threshold{Value: cog.ToPtr(s.value), Color: s.color})
	}
	return stat.NewPanelBuilder().Title(title).Description(description).Datasource(datasource()).
		Unit(unit).Span(statSize.w).Height(statSize.h).
		GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeValue).Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false)).
		Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(th)).
		WithTarget(target)
}

type threshold struct {
	value float64
	color string
}

// heatmapPanel shows a classic histogram's buckets over time: the target sums the bucket rates
// by le, in Grafana's heatmap format, so Grafana does not re-bucket them.
func heatmapPanel(title, description, metric, sel string, sz size) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().Title(title).Description(description).Datasource(datasource()).
		Span(sz.w).Height(sz.h).Calculate(false).
		Color(heatmap.NewHeatmapColorOptionsBuilder().Mode(heatmap.HeatmapColorModeScheme).Scheme("Oranges").
			Scale(heatmap.HeatmapColorScaleExponential).Exponent(0.5).Steps(64)).
		YAxis(heatmap.NewYAxisConfigBuilder().Unit("s")).
		CellValues(heatmap.NewCellValuesBuilder().Unit("reqps")).
		WithTarget(query(sumRate("le", metric+"_bucket", sel), "{{le}}").Format(prometheus.PromQueryFormatHeatmap))
}

// row is a dashboard row (not collapsed: its panels follow it on the dashboard).
func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }

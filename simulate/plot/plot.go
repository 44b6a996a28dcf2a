// Package plot draws simulator results with gonum.org/v1/plot, as SVG and PNG files: goodput
// and throttles over time and the latency CDF of a comparison, and the Brooker figure (calls
// and completion time against the number of clients, one line per jitter kind).
package plot

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/tollgate/tollgate/simulate"
)

// Size of every figure.
const (
	width  = 8 * vg.Inch
	height = 4.5 * vg.Inch
)

// save writes p to dir as name.svg and name.png and returns the file names.
func save(p *plot.Plot, dir, name string) ([]string, error) {
	var out []string
	for _, ext := range []string{".svg", ".png"} {
		f := name + ext
		if err := p.Save(width, height, filepath.Join(dir, f)); err != nil {
			return out, fmt.Errorf("plot: write %s: %w", f, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

// addLine adds a line in the i-th color with a legend entry.
func addLine(p *plot.Plot, i int, label string, xys plotter.XYs, dashed bool) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plot: %s: %w", label, err)
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}

// Comparison draws a comparison's figures into dir: goodput.{svg,png} (successes per second
// over time), throttles.{svg,png} (throttled attempts per second over time) and
// latency-cdf.{svg,png} (the CDF of successful calls' latency, log scale) and, when the
// workload calls more than one API, the same per API: goodput-by-api, throttles-by-api and
// latency-cdf-by-api (one line per strategy and API: the strategy's colour, a dash pattern per
// API), where a noisy neighbour shows. It returns the files written.
func Comparison(c *simulate.Comparison, dir string) ([]string, error) {
	var files []string
	type series struct {
		name string
		vals func(s *simulate.SeriesReport) []uint64
		y    string
	}
	for _, fig := range []series{
		{"goodput", func(s *simulate.SeriesReport) []uint64 { return s.Successes }, "successes per second"},
		{"throttles", func(s *simulate.SeriesReport) []uint64 { return s.Throttled }, "throttled attempts per second"},
	} {
		p := newPlot(fmt.Sprintf("%s — %s over time", c.Scenario, fig.name), "time (s)", fig.y)
		for i := range c.Strategies {
			st := &c.Strategies[i]
			vals := fig.vals(&st.Series)
			xys := make(plotter.XYs, len(vals))
			perRun := float64(max(c.Runs, 1)) * st.Series.WidthS
			for b, v := range vals {
				xys[b] = plotter.XY{X: float64(b) * st.Series.WidthS, Y: float64(v) / perRun}
			}
			if len(xys) == 0 {
				continue
			}
			if err := addLine(p, i, st.Strategy, xys, false); err != nil {
				return files, err
			}
		}
		f, err := save(p, dir, fig.name)
		files = append(files, f...)
		if err != nil {
			return files, err
		}
	}
	p := newPlot(c.Scenario+" — latency of successful calls", "latency (s, log scale)", "fraction of calls ≤ latency")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	for i := range c.Strategies {
		st := &c.Strategies[i]
		if st.Latency == nil || st.Latency.Count() == 0 {
			continue
		}
		xs, ps := st.Latency.CDF()
		xys := make(plotter.XYs, 0, len(xs))
		for k := range xs {
			xys = append(xys, plotter.XY{X: max(xs[k].Seconds(), 1e-6), Y: ps[k]})
		}
		if err := addLine(p, i, st.Strategy, xys, false); err != nil {
			return files, err
		}
	}
	f, err := save(p, dir, "latency-cdf")
	files = append(files, f...)
	if err != nil {
		return files, err
	}
	f, err = byAPI(c, dir)
	return append(files, f...), err
}

// apiDashes are the dash patterns of the per-API figures' lines, one per API in turn.
var apiDashes = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)}}

// byAPI draws the per-API figures, if any strategy's workload has more than one API.
func byAPI(c *simulate.Comparison, dir string) ([]string, error) {
	several := false
	for i := range c.Strategies {
		several = several || len(c.Strategies[i].Operations) > 1
	}
	if !several {
		return nil, nil
	}
	var files []string
	for _, fig := range []struct {
		name, what, y string
		vals          func(s *simulate.SeriesReport) []uint64
	}{
		{"goodput-by-api", "goodput", "successes per second", func(s *simulate.SeriesReport) []uint64 { return s.Successes }},
		{"throttles-by-api", "throttles", "throttled attempts per second", func(s *simulate.SeriesReport) []uint64 { return s.Throttled }},
	} {
		p := newPlot(fmt.Sprintf("%s — %s per API over time", c.Scenario, fig.what), "time (s)", fig.y)
		for i := range c.Strategies {
			st := &c.Strategies[i]
			for j := range st.Operations {
				op := &st.Operations[j]
				if op.Series == nil || len(op.Series.Attempts) == 0 {
					continue
				}
				vals := fig.vals(op.Series)
				perRun := float64(max(c.Runs, 1)) * op.Series.WidthS
				xys := make(plotter.XYs, len(vals))
				for b, v := range vals {
					xys[b] = plotter.XY{X: float64(b) * op.Series.WidthS, Y: float64(v) / perRun}
				}
				if err := addStyledLine(p, i, apiDashes[j%len(apiDashes)], st.Strategy+" · "+op.Name, xys); err != nil {
					return files, err
				}
			}
		}
		f, err := save(p, dir, fig.name)
		files = append(files, f...)
		if err != nil {
			return files, err
		}
	}
	p := newPlot(c.Scenario+" — latency of successful calls per API", "latency (s, log scale)", "fraction of calls ≤ latency")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	for i := range c.Strategies {
		st := &c.Strategies[i]
		for j := range st.Operations {
			op := &st.Operations[j]
			if op.Latency == nil || op.Latency.Count() == 0 {
				continue
			}
			xs, ps := op.Latency.CDF()
			xys := make(plotter.XYs, 0, len(xs))
			for k := range xs {
				xys = append(xys, plotter.XY{X: max(xs[k].Seconds(), 1e-6), Y: ps[k]})
			}
			if err := addStyledLine(p, i, apiDashes[j%len(apiDashes)], st.Strategy+" · "+op.Name, xys); err != nil {
				return files, err
			}
		}
	}
	f, err := save(p, dir, "latency-cdf-by-api")
	return append(files, f...), err
}

// addStyledLine adds a line in the i-th color with the given dashes and a legend entry.
func addStyledLine(p *plot.Plot, i int, dashes []vg.Length, label string, xys plotter.XYs) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plot: %s: %w", label, err)
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	l.Dashes = dashes
	p.Add(l)
	p.Legend.Add(label, l)
	return nil
}

// Brooker draws the Brooker figures into dir: brooker-calls.{svg,png} (mean writes against
// the number of clients) and brooker-time.{svg,png} (mean completion time), one line per
// jitter kind. It returns the files written.
func Brooker(r *simulate.BrookerResult, dir string) ([]string, error) {
	var jitters []string
	for _, pt := range r.Points {
		found := false
		for _, j := range jitters {
			found = found || j == pt.Jitter
		}
		if !found {
			jitters = append(jitters, pt.Jitter)
		}
	}
	var files []string
	for _, fig := range []struct {
		name, title, y string
		val            func(simulate.BrookerPoint) float64
	}{
		{"brooker-calls", "Work: writes until every client succeeded", "calls (mean of runs)", func(p simulate.BrookerPoint) float64 { return p.Calls }},
		{"brooker-time", "Completion time until every client succeeded", "time (ms, mean of runs)", func(p simulate.BrookerPoint) float64 { return p.CompletionMs }},
	} {
		p := newPlot(fmt.Sprintf("%s (%d runs per point)", fig.title, r.Runs), "clients", fig.y)
		p.X.Tick.Marker = integerTicks{}
		for i, j := range jitters {
			var xys plotter.XYs
			for _, pt := range r.Points {
				if pt.Jitter == j {
					xys = append(xys, plotter.XY{X: float64(pt.Clients), Y: fig.val(pt)})
				}
			}
			if err := addLine(p, i, j, xys, j == "none"); err != nil {
				return files, err
			}
		}
		f, err := save(p, dir, fig.name)
		files = append(files, f...)
		if err != nil {
			return files, err
		}
	}
	return files, nil
}

// integerTicks labels an axis of counts (clients) with whole numbers.
type integerTicks struct{}

// Ticks returns the default ticks with their labels printed as integers.
func (integerTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.0f", ticks[i].Value)
		}
	}
	return ticks
}

// palette is matplotlib's "tab10": ten colours that stay apart on screen and in print.
var palette = []color.Color{
	color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255},
	color.RGBA{214, 39, 40, 255}, color.RGBA{148, 103, 189, 255}, color.RGBA{140, 86, 75, 255},
	color.RGBA{227, 119, 194, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{188, 189, 34, 255},
	color.RGBA{23, 190, 207, 255},
}

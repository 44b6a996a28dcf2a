package calibrate

import (
	"fmt"
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotFiles are the files Plot writes for a strategy ("sdk-standard.svg", ...).
func PlotFiles(strategies []string) []string {
	var out []string
	for _, s := range strategies {
		out = append(out, s+".svg", s+".png")
	}
	return out
}

var (
	attemptsColor  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	throttledColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// Plot draws, for each strategy, its attempts and throttled attempts per second over time
// (averaged over the seeds), virtual (dashed) beside real (solid), into dir as STRATEGY.svg and
// STRATEGY.png, and returns the files written.
func (r *Report) Plot(dir string) ([]string, error) {
	var files []string
	for i := range r.Strategies {
		st := &r.Strategies[i]
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s, %s: virtual (dashed) and real (solid)", r.Scenario, st.Strategy)
		p.X.Label.Text = "time (s)"
		p.Y.Label.Text = "attempts per second"
		p.Legend.Top, p.Legend.Left = true, false
		p.Add(plotter.NewGrid())
		for _, l := range []struct {
			label  string
			vals   []float64
			c      color.Color
			dashed bool
		}{
			{"attempts, virtual", st.Virtual.Attempts, attemptsColor, true},
			{"attempts, real", st.Real.Attempts, attemptsColor, false},
			{"throttled, virtual", st.Virtual.Throttled, throttledColor, true},
			{"throttled, real", st.Real.Throttled, throttledColor, false},
		} {
			if len(l.vals) == 0 {
				continue
			}
			xys := make(plotter.XYs, len(l.vals))
			for b, v := range l.vals {
				xys[b] = plotter.XY{X: float64(b) + 0.5, Y: v}
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return files, fmt.Errorf("calibrate: plot %s: %w", l.label, err)
			}
			line.Color, line.Width = l.c, vg.Points(1.5)
			if l.dashed {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			p.Add(line)
			p.Legend.Add(l.label, line)
		}
		for _, ext := range []string{".svg", ".png"} {
			name := st.Strategy + ext
			if err := p.Save(8*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, name)); err != nil {
				return files, fmt.Errorf("calibrate: write %s: %w", name, err)
			}
			files = append(files, name)
		}
	}
	return files, nil
}

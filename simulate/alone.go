package simulate

import "fmt"

// aloneScenarios returns, for each operation of c marked Alone, the scenario of its companion
// run: its group alone, with only this operation — an open loop keeps this operation's share of
// the group's rate (and of each phase's), a closed loop keeps its processes and workers, now all
// calling this operation. Everything else (server, duration, seeds, timeouts) is c's.
func aloneScenarios(c *compiled) ([]*compiled, error) {
	var out []*compiled
	for gi := range c.sc.Groups {
		g := c.sc.Groups[gi]
		total := 0.0
		for _, op := range g.Operations {
			total += weight(op)
		}
		for _, op := range g.Operations {
			if !op.Alone {
				continue
			}
			share := weight(op) / total
			a := g
			a.Rate = g.Rate * share
			a.Phases = nil
			for _, ph := range g.Phases {
				a.Phases = append(a.Phases, Phase{At: ph.At, Rate: ph.Rate * share})
			}
			op.Alone = false
			a.Operations = []Operation{op}
			sc := *c.sc
			sc.Groups = []Group{a}
			cc, err := compile(&sc)
			if err != nil {
				return nil, fmt.Errorf("simulate: scenario %q: %s %s alone: %w", c.sc.Name, op.Service, op.Operation, err)
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// weight returns op's relative share of its group's calls (default 1).
func weight(op Operation) float64 {
	if op.Weight == 0 {
		return 1
	}
	return op.Weight
}

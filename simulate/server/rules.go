package server

import "github.com/tollgate/tollgate/limiter"

// MergeRules returns base with overrides applied: an override whose name (Rule.DisplayName)
// matches a base rule replaces it in place, keeping its precedence; every other override is put
// before all base rules, so it takes precedence over them (rules match first-wins). Neither
// argument is modified.
//
// A rules file for the emulator is usually merged over limiter.DefaultRules(): it can retune a
// default bucket by reusing its name ("ec2-non-mutating") or add narrower rules (an STS quota,
// a smaller bucket for one table).
func MergeRules(base, overrides limiter.Rules) limiter.Rules {
	byName := make(map[string]int, len(overrides))
	for i, r := range overrides {
		byName[r.DisplayName()] = i
	}
	used := make([]bool, len(overrides))
	merged := make(limiter.Rules, 0, len(base)+len(overrides))
	for _, r := range base {
		if i, ok := byName[r.DisplayName()]; ok {
			r = overrides[i]
			used[i] = true
		}
		merged = append(merged, r)
	}
	var front limiter.Rules
	for i, r := range overrides {
		if !used[i] {
			front = append(front, r)
		}
	}
	return append(front, merged...)
}

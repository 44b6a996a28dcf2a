package main

import (
	"context"

	"github.com/tollgate/tollgate/internal/outfile"
)

// writeDir writes files into dir through a staging directory: write puts them under the
// staging path; they are moved into dir together only when all are written and ctx is not
// cancelled. It returns the files written, relative to dir.
func writeDir(ctx context.Context, dir string, write func(stage string) error) ([]string, error) {
	st, err := outfile.NewStage(dir)
	if err != nil {
		return nil, err
	}
	defer st.Abort()
	if err := write(st.Path()); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return st.Commit(nil)
}

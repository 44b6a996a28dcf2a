package outfile

import "context"

// WriteDir writes files into dir through a Stage: write puts them under the staging path it is
// given; they are moved into dir together only when write returned nil, ctx is not cancelled
// and g (nil: no check) accepts every destination. Otherwise dir keeps what it had. It returns
// the files written, relative to dir.
func WriteDir(ctx context.Context, dir string, g *Guard, write func(stage string) error) ([]string, error) {
	st, err := NewStage(dir)
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
	return st.Commit(g)
}

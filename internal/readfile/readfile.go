// Package readfile reads an input file whole, within a size cap: a run
// report, a baseline or a history file that is a folder, a device or far
// larger than any real one is refused before it is read into memory.
package readfile

import (
	"fmt"
	"io"
	"os"
)

// Read returns the contents of the regular file path, or an error naming
// path when it is missing, not a regular file, or larger than max bytes.
func Read(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		what := "not a regular file"
		if st.IsDir() {
			what = "a folder, not a file"
		}
		return nil, fmt.Errorf("%s is %s", path, what)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s is %s, over the %s limit", path, size(st.Size()), size(max))
	}
	// The file may grow after Stat; one byte over the cap is enough to tell.
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s grew over the %s limit while being read", path, size(max))
	}
	return data, nil
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

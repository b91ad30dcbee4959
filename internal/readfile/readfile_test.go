package readfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.json")
	os.WriteFile(small, []byte(`{"a":1}`), 0o644)
	big := filepath.Join(dir, "big.json")
	// Sparse: the size is what counts, the disk holds nothing.
	if f, err := os.Create(big); err == nil {
		f.Truncate(3 << 20)
		f.Close()
	}
	tests := []struct {
		name, path string
		max        int64
		want       string // error substring; "" means success
	}{
		{"within the cap", small, 100, ""},
		{"exactly the cap", small, 7, ""},
		{"over the cap", small, 6, "small.json is 7 bytes, over the 6 bytes limit"},
		{"huge", big, 1 << 20, "big.json is 3 MiB, over the 1 MiB limit"},
		{"folder", dir, 1 << 20, "is a folder, not a file"},
		{"device", os.DevNull, 1 << 20, "not a regular file"},
		{"missing", filepath.Join(dir, "nope.json"), 1, "nope.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Read(tt.path, tt.max)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want == "" && string(data) != `{"a":1}`:
				t.Fatalf("read %q", data)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

# bench/lib.sh: shared by bench/monorepo and bench/incremental.

# gen_monorepo DIR MODULES PACKAGES: a git repository of MODULES Go modules
# of PACKAGES packages each, every package using net/http, crypto/tls,
# encoding/json and text/template so gosec and govulncheck have real work.
gen_monorepo() {
	local src=$1 modules=$2 packages=$3
	mkdir -p "$src"
	for m in $(seq "$modules"); do
		local dir="$src/mod$m" imports="" calls=""
		mkdir -p "$dir"
		printf 'module example.com/mono/mod%d\n\ngo 1.22\n' "$m" > "$dir/go.mod"
		for p in $(seq "$packages"); do
			mkdir -p "$dir/pkg$p"
			cat > "$dir/pkg$p/p.go" <<GO
package pkg$p

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"os"
	"text/template"
)

// Serve answers with a template rendered from the request's JSON body.
func Serve(w http.ResponseWriter, r *http.Request) {
	var data map[string]any
	if err := json.NewDecoder(r.Body).Decode(&data); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t := template.Must(template.New("p").Parse(r.URL.Query().Get("t")))
	_ = t.Execute(w, data)
}

// Fetch gets a URL with a client that skips TLS checks.
func Fetch(url string) (*http.Response, error) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return c.Get(url)
}

// Save writes a file anyone may read.
func Save(name string, b []byte) error { return os.WriteFile(name, b, 0o666) }
GO
			imports="$imports	p$p \"example.com/mono/mod$m/pkg$p\"
"
			calls="$calls	http.HandleFunc(\"/p$p\", p$p.Serve)
	_, _ = p$p.Fetch(\"https://example.com\")
"
		done
		cat > "$dir/main.go" <<GO
package main

import (
	"net/http"

$imports)

func main() {
$calls	_ = http.ListenAndServe(":8080", nil)
}
GO
	done
	git -C "$src" init -q && git -C "$src" add -A && git -C "$src" -c user.name=b -c user.email=b@b commit -qm gen
}

# seconds_since START: wall seconds since START (date +%s.%N).
seconds_since() { python3 -c "import sys, time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }

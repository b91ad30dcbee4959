// Command app is dagsec's sample target: a small web app with a planted,
// deliberately unfixed reflected XSS for the DAST stage to find. Never deploy
// it anywhere reachable.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

const index = `<!DOCTYPE html>
<html>
<head><title>dagsec sample app</title></head>
<body>
<h1>dagsec sample app</h1>
<p><a href="/search?q=test">Search for "test"</a></p>
<form action="/search" method="get">
<input type="text" name="q" value="">
<input type="submit" value="Search">
</form>
</body>
</html>
`

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, index)
	})
	mux.HandleFunc("GET /search", search)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// A constant message: only the XSS below is planted, and logging the
	// PORT-derived address would add a log injection (gosec G706).
	log.Print("dagsec sample app: listening")
	log.Fatal(srv.ListenAndServe())
}

// search reflects q into the page without escaping.
//
// DELIBERATELY VULNERABLE (reflected XSS): the DAST stage and dagsec's
// tests expect a scanner to find it. Do not "fix" it with html.EscapeString.
func search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><body>\n<h1>Results for %s</h1>\n<p>No results.</p>\n<p><a href=\"/\">Back</a></p>\n</body></html>\n", q)
}

package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// PlantedFiles is a repository with one known issue per code stage:
//   - Go: golang.org/x/text v0.3.0 with language.Parse called (a reachable
//     CVE), a shell command built from input, MD5;
//   - Python: eval, pickle, yaml.load, shell=True;
//   - Dockerfile: a latest base image, running as root;
//   - Terraform: a public S3 bucket and SSH open to the world;
//   - npm: a GPL-3.0 production dependency.
//
// They are written at test time, not committed, so dagsec's own scan of its
// repository does not trip over them.
func PlantedFiles() map[string]string {
	return map[string]string{
		"go.mod": "module example.com/planted\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.0\n",
		"main.go": `package main

import (
	"crypto/md5"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Getenv("LANG_TAG"))
	if err != nil {
		fmt.Println(err)
	}
	out, _ := exec.Command("sh", "-c", os.Getenv("USER_CMD")).Output()
	fmt.Printf("%s %x\n", tag, md5.Sum(out))
}
`,
		"app/app.py": `import pickle
import subprocess

import yaml


def handle(request):
    expr = request.args.get("expr")
    result = eval(expr)
    state = pickle.loads(request.data)
    config = yaml.load(request.files["config"].read())
    subprocess.call("ls " + request.args.get("dir"), shell=True)
    return result, state, config
`,
		"Dockerfile": "FROM python:latest\nWORKDIR /app\nCOPY app/ /app/\nCMD [\"python\", \"app.py\"]\n",
		"infra/main.tf": `resource "aws_s3_bucket" "data" {
  bucket = "planted-public-data"
  acl    = "public-read"
}

resource "aws_security_group" "ssh" {
  name        = "ssh"
  description = "SSH access"

  ingress {
    description = "SSH from anywhere"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
`,
		"web/package.json": `{"name": "web", "version": "1.0.0", "license": "MIT", "dependencies": {"gpl-widget": "1.2.3", "left-pad": "1.3.0"}}
`,
		"web/package-lock.json": `{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "web", "version": "1.0.0", "license": "MIT", "dependencies": {"gpl-widget": "1.2.3", "left-pad": "1.3.0"}},
    "node_modules/gpl-widget": {"version": "1.2.3", "resolved": "https://registry.npmjs.org/gpl-widget/-/gpl-widget-1.2.3.tgz", "integrity": "sha512-AAAA", "license": "GPL-3.0-only"},
    "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "sha512-BBBB", "license": "WTFPL"}
  }
}
`,
	}
}

// CleanCodeFiles is a repository in the same languages with nothing to find.
func CleanCodeFiles() map[string]string {
	return map[string]string{
		"go.mod":     "module example.com/clean\n\ngo 1.22\n",
		"main.go":    "package main\n\nimport (\n\t\"fmt\"\n\t\"strings\"\n)\n\nfunc main() { fmt.Println(strings.ToUpper(\"ok\")) }\n",
		"app/app.py": "import json\n\n\ndef handle(body):\n    return json.loads(body)\n",
		"Dockerfile": "FROM gcr.io/distroless/python3-debian12:nonroot@sha256:" + sha64 + "\n" +
			"COPY app/ /app/\nUSER 65532:65532\nHEALTHCHECK --interval=30s CMD [\"/usr/bin/python3\", \"-c\", \"print(1)\"]\n" +
			"CMD [\"/app/app.py\"]\n",
		"infra/main.tf": "resource \"random_id\" \"suffix\" {\n  byte_length = 8\n}\n",
		"web/package.json": `{"name": "web", "version": "1.0.0", "license": "MIT", "dependencies": {"left-pad": "1.3.0"}}
`,
		"web/package-lock.json": `{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "web", "version": "1.0.0", "license": "MIT", "dependencies": {"left-pad": "1.3.0"}},
    "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "sha512-BBBB", "license": "MIT"}
  }
}
`,
	}
}

const sha64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// GoModTidy fills go.sum and the module cache for a planted Go module
// through the Go module proxy, as a developer's checkout would have them.
func GoModTidy(t testing.TB, dir string) {
	t.Helper()
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy in %s: %v\n%s", dir, err, out)
	}
}

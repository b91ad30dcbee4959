module example.com/dagsec-sample-app

go 1.26

toolchain go1.26.11

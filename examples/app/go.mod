module example.com/dagsec-sample-app

go 1.26

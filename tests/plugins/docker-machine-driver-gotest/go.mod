module docker-machine-driver-gotest

go 1.19

#include "prober/cli/commands.hpp"

int main(int argc, char** argv) { return prober::cli::dispatch(argc, argv); }

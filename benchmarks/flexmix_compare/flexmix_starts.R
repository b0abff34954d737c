# flexmix side of benchmarks/flexmix_compare.sh: fits a softmax-gated
# mixture of linear Gaussian experts (flexmix's FLXMRglm with the multinomial
# concomitant model FLXPmultinom(~ x1)) from `starts` random starts and writes
# one CSV row per start: log-likelihood, EM iterations, converged, the number
# of components kept, and the elapsed and CPU (user + system) seconds of
# that start.
#
# The loop is what stepFlexmix(..., nrep = starts) does (each flexmix() call
# starts from a random classification), written out to time each start.
# minprior = 0 keeps all k components, as moelab does (flexmix's default 0.05
# would drop small ones). flexmix stops when
#   |l_t - l_{t-1}| / (|l_t| + 0.1) < tolerance.
#
# Usage: Rscript flexmix_starts.R data.csv k starts tolerance iter_max seed out.csv
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 7) {
  stop("usage: Rscript flexmix_starts.R data.csv k starts tolerance iter_max seed out.csv")
}
data_path <- args[1]
k <- as.integer(args[2])
starts <- as.integer(args[3])
tolerance <- as.numeric(args[4])
iter_max <- as.integer(args[5])
seed <- as.integer(args[6])
out_path <- args[7]
if (is.na(k) || k < 1) stop("k must be an integer >= 1, got '", args[2], "'")
if (is.na(starts) || starts < 1) stop("starts must be an integer >= 1, got '", args[3], "'")
if (is.na(tolerance) || tolerance < 0) stop("tolerance must be >= 0, got '", args[4], "'")
if (is.na(iter_max) || iter_max < 1) stop("iter_max must be an integer >= 1, got '", args[5], "'")
if (is.na(seed)) stop("seed must be an integer, got '", args[6], "'")

suppressPackageStartupMessages(library(flexmix))
d <- read.csv(data_path)
if (!all(c("x1", "y") %in% names(d))) stop(data_path, ": needs columns x1 and y")

set.seed(seed)
rows <- vector("list", starts)
for (s in seq_len(starts)) {
  t0 <- proc.time()
  fit <- tryCatch(
    flexmix(y ~ x1, data = d, k = k, concomitant = FLXPmultinom(~ x1),
            control = list(tolerance = tolerance, iter.max = iter_max, minprior = 0)),
    error = function(e) e)
  dt <- proc.time() - t0
  seconds <- dt[["elapsed"]]
  cpu_seconds <- dt[["user.self"]] + dt[["sys.self"]]
  if (inherits(fit, "error")) {
    rows[[s]] <- data.frame(start = s - 1, log_likelihood = NA, iterations = NA,
                            converged = FALSE, components = NA, seconds = seconds,
                            cpu_seconds = cpu_seconds,
                            error = gsub("[,\n]", " ", conditionMessage(fit)))
  } else {
    rows[[s]] <- data.frame(start = s - 1, log_likelihood = as.numeric(logLik(fit)),
                            iterations = fit@iter, converged = fit@converged,
                            components = fit@k, seconds = seconds,
                            cpu_seconds = cpu_seconds, error = "")
  }
}
out <- do.call(rbind, rows)
out$log_likelihood <- sprintf("%.10f", out$log_likelihood)
write.csv(out, out_path, row.names = FALSE, quote = FALSE)

// Tests of the plaintext ml layer: ml/dataset.hpp (loader, normalizer, splits,
// synthetic data), ml/metrics.hpp (metrics, plaintext reference trainers) and
// ml/privacy.hpp (Gaussian mechanism, RDP accountant, CSPRNG noise). Every
// expected value is computed by hand or in closed form; seeds are fixed.
#include <catch2/catch.hpp>

#include <cloak/core/random.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/metrics.hpp>
#include <cloak/ml/privacy.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace ml = cloak::ml;

namespace {

ml::Dataset parse(const std::string& text, const ml::LoadOptions& options = {}) {
    std::istringstream in(text);
    return ml::Dataset::parse(in, options, "test.csv");
}

/// The message of the InvalidArgumentError that `f` throws.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const cloak::InvalidArgumentError& e) {
        return e.what();
    }
    FAIL("expected an InvalidArgumentError");
    return {};
}

std::string parse_error(const std::string& text, const ml::LoadOptions& options = {}) {
    return error_of([&] { (void)parse(text, options); });
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

// ---------------------------------------------------------------------------
// Loader

TEST_CASE("ml/dataset/parse: CSV with a header, label by name", "[ml]") {
    const ml::Dataset d = parse(
        "age,outcome,bmi\n"
        "50,1,22.5\n"
        "61,0,-3e-1\n"
        "+7,1,0\n",
        {.label = "outcome"});
    REQUIRE(d.rows() == 3);
    REQUIRE(d.features() == 2);
    CHECK(d.feature_names() == std::vector<std::string>{"age", "bmi"});
    CHECK(d.label_name() == "outcome");
    CHECK(d.x(0, 0) == 50);
    CHECK(d.x(0, 1) == 22.5);
    CHECK(d.x(1, 1) == -0.3);
    CHECK(d.x(2, 0) == 7);
    CHECK(std::vector<double>(d.labels().begin(), d.labels().end()) ==
          std::vector<double>{1, 0, 1});
    CHECK(d.row(1)[0] == 61);
    CHECK(d.task() == ml::Task::classification);
}

TEST_CASE("ml/dataset/parse: TSV without header, label by default, index and negative index",
          "[ml]") {
    const std::string tsv = "0\t1\t0.5\t1\n1\t0\t0.25\t0\n";
    const ml::Dataset last = parse(tsv);  // header auto-detected as absent, label last
    REQUIRE(last.rows() == 2);
    REQUIRE(last.features() == 3);
    CHECK(last.feature_names().empty());
    CHECK(last.x(1, 2) == 0.25);
    CHECK(last.y(0) == 1);
    CHECK(last.y(1) == 0);

    const ml::Dataset first = parse(tsv, {.label = 0});
    CHECK(first.features() == 3);
    CHECK(first.y(0) == 0);
    CHECK(first.y(1) == 1);
    CHECK(first.x(0, 0) == 1);  // column 1 is now the first feature

    const ml::Dataset minus_two = parse(tsv, {.label = -2, .task = ml::Task::regression});
    CHECK(minus_two.y(0) == 0.5);
    CHECK(minus_two.y(1) == 0.25);
    CHECK(minus_two.x(0, 2) == 1);
    CHECK(minus_two.task() == ml::Task::regression);
}

TEST_CASE("ml/dataset/parse: -1/+1 labels map to 0/1; regression keeps them", "[ml]") {
    const std::string csv = "x,y\n0.5,-1\n0.25,1\n-0.5,-1\n";
    const ml::Dataset c = parse(csv);
    CHECK(std::vector<double>(c.labels().begin(), c.labels().end()) ==
          std::vector<double>{0, 1, 0});
    const ml::Dataset r = parse(csv, {.task = ml::Task::regression});
    CHECK(std::vector<double>(r.labels().begin(), r.labels().end()) ==
          std::vector<double>{-1, 1, -1});
    const ml::Dataset reals = parse("1,2.5\n2,-7.25\n", {.task = ml::Task::regression});
    CHECK(reals.y(1) == -7.25);
}

TEST_CASE("ml/dataset/parse: delimiters, quotes, CRLF, BOM, blank lines, ignored columns", "[ml]") {
    const ml::Dataset semicolon = parse("a;b;y\n1;2;1\n3;4;0\n");
    CHECK(semicolon.features() == 2);
    CHECK(semicolon.x(1, 1) == 4);

    const ml::Dataset spaces = parse("  1   2  3  1\n4 5 6 0\n\n");  // detected: whitespace
    CHECK(spaces.rows() == 2);
    CHECK(spaces.features() == 3);
    CHECK(spaces.x(0, 2) == 3);
    // A tab anywhere on the first line selects tabs; runs of spaces and tabs need ' '.
    const ml::Dataset mixed = parse("  1   2\t 3  1\n4 5 6 0\n", {.delimiter = ' '});
    CHECK(mixed.features() == 3);
    CHECK(mixed.x(0, 2) == 3);

    const ml::Dataset crlf = parse("\xEF\xBB\xBF\"first, name\",\"y\"\r\n\r\n 1.5 , 1\r\n");
    CHECK(crlf.feature_names() == std::vector<std::string>{"first, name"});
    CHECK(crlf.label_name() == "y");
    CHECK(crlf.x(0, 0) == 1.5);

    const ml::Dataset pipe = parse("1|2|1\n", {.delimiter = '|', .header = false});
    CHECK(pipe.features() == 2);

    // A text id column, dropped by name; a numeric column dropped by index.
    const ml::Dataset ignored = parse(
        "id,age,junk,y\n"
        "p-17,40,9,1\n"
        "p-18,41,9,0\n",
        {.ignore = {"id", 2}});
    CHECK(ignored.features() == 1);
    CHECK(ignored.feature_names() == std::vector<std::string>{"age"});
    CHECK(ignored.x(1, 0) == 41);

    // An all-numeric header is data unless the header is declared.
    const ml::Dataset declared = parse("1,2,3\n4,5,1\n", {.header = true});
    CHECK(declared.rows() == 1);
    CHECK(declared.feature_names() == std::vector<std::string>{"1", "2"});
}

TEST_CASE("ml/dataset/parse: each error names its line and column", "[ml]") {
    std::string m = parse_error("a,b,y\n1,2,0\n3,x,1\n");
    CHECK(contains(m, "test.csv, line 3, column 2 ('b')"));
    CHECK(contains(m, "\"x\" is not a number"));

    m = parse_error("1,2,0\n3,4\n");
    CHECK(contains(m, "line 2, column 3: missing"));
    CHECK(contains(m, "line 1 has 3"));

    m = parse_error("1,2,0\n3,4,1,5\n");
    CHECK(contains(m, "line 2, column 4: unexpected extra column"));

    m = parse_error("a,b,y\n1,2,1\n", {.label = "outcome"});
    CHECK(contains(m, "line 1 (the header): no column named 'outcome'"));
    CHECK(contains(m, "'a', 'b', 'y'"));

    m = parse_error("1,2,1\n", {.label = "outcome"});
    CHECK(contains(m, "no header row"));

    CHECK(contains(parse_error(""), "test.csv is empty (no lines)"));
    CHECK(contains(parse_error("\n  \n"), "is empty (only blank lines)"));
    CHECK(contains(parse_error("a,b,y\n"), "no data rows"));

    m = parse_error("1,2,0\nnan,2,1\n");
    CHECK(contains(m, "line 2, column 1"));
    CHECK(contains(m, "not a finite number"));
    CHECK(contains(parse_error("1,2,0\n1,-inf,1\n"), "line 2, column 2"));
    CHECK(contains(parse_error("1,2,0\n1,1e999,1\n"), "not a finite number"));

    m = parse_error("1,2,0\n1,,1\n");
    CHECK(contains(m, "line 2, column 2: empty cell"));

    m = parse_error("1,2,0\n1,2,2\n");
    CHECK(contains(m, "line 2, column 3"));
    CHECK(contains(m, "label 2 is not a class"));

    m = parse_error("1,0\n1,1\n1,-1\n");
    CHECK(contains(m, "line 3, column 2"));
    CHECK(contains(m, "mix 0 (first on line 1) and -1 (first on line 3)"));

    CHECK(contains(parse_error("\"open,1,0\n"), "line 1, column 1: a quoted field is not closed"));
    CHECK(contains(parse_error("1,2,0\n", {.label = 5}), "out of range for 3 columns"));
    CHECK(contains(parse_error("1\n2\n"), "found 1 column"));

    const std::string missing = error_of(
        [] { (void)ml::Dataset::load_csv("no/such/dir/records.csv", {.label = "outcome"}); });
    CHECK(contains(missing, "cannot open 'no/such/dir/records.csv'"));
    CHECK(contains(missing, "no such file"));
}

TEST_CASE("ml/dataset: constructor and accessors check their arguments", "[ml]") {
    CHECK_THROWS_AS(ml::Dataset(2, 2, {1, 2, 3}, {0, 1}), cloak::ShapeError);
    CHECK_THROWS_AS(ml::Dataset(2, 1, {1, 2}, {0, 2}), cloak::InvalidArgumentError);
    const ml::Dataset d(2, 1, {1, 2}, {0, 1});
    CHECK_THROWS_AS(d.x(2, 0), cloak::InvalidArgumentError);
    CHECK_THROWS_AS(d.x(0, 1), cloak::InvalidArgumentError);
    CHECK_THROWS_AS(d.row(5), cloak::InvalidArgumentError);
    const std::vector<std::size_t> pick{1, 1, 0};
    const ml::Dataset s = d.subset(pick);
    CHECK(s.rows() == 3);
    CHECK(s.x(0, 0) == 2);
    CHECK(s.y(2) == 0);
    std::ostringstream text;
    text << d;
    CHECK(text.str() == "ml::Dataset(2 rows x 1 features, classification, 50.0% positive)");
}

// ---------------------------------------------------------------------------
// Normalizer

TEST_CASE("ml/normalizer: scalings map to [-1, 1] (or z-scores) and back", "[ml]") {
    const ml::Dataset raw(4, 3, {0, 10, 5, 1, 20, 5, 0, 30, 5, 1, 40, 5}, {0, 1, 0, 1});
    SECTION("min_max") {
        const ml::Normalizer n = ml::Normalizer::fit(raw, {.scaling = ml::Scaling::min_max});
        const ml::Dataset z = n.transform(raw);
        CHECK(z.x(0, 0) == -1);
        CHECK(z.x(1, 0) == 1);
        CHECK(z.x(0, 1) == -1);
        CHECK(z.x(1, 1) == Approx(-1.0 / 3).margin(1e-15));
        CHECK(z.x(3, 1) == Approx(1).margin(1e-15));  // the affine map rounds by an ulp
        CHECK(z.x(2, 2) == 0);                        // constant feature -> 0
        for (std::size_t i = 0; i < raw.rows(); ++i) {
            const std::vector<double> back = n.inverse_row(z.row(i));
            for (std::size_t j = 0; j < raw.features(); ++j) {
                CHECK(back[j] == Approx(raw.x(i, j)).margin(1e-12));
            }
        }
        CHECK(std::vector<double>(z.labels().begin(), z.labels().end()) ==
              std::vector<double>(raw.labels().begin(), raw.labels().end()));
    }
    SECTION("max_abs (default) keeps 0/1 features") {
        const ml::Normalizer n = ml::Normalizer::fit(raw);
        CHECK(n.scaling() == ml::Scaling::max_abs);
        const ml::Dataset z = n.transform(raw);
        CHECK(z.x(1, 0) == 1);
        CHECK(z.x(0, 0) == 0);
        CHECK(z.x(0, 1) == 0.25);
        CHECK(z.x(2, 2) == 1);
    }
    SECTION("bounded scalings never leave [-1, 1] on the fitted data") {
        const ml::Dataset wide =
            ml::synthetic_linear(500, 6, 4,
                                 {.distribution = ml::FeatureDistribution::gaussian, .signal = 30})
                .data;
        for (const ml::Scaling scaling : {ml::Scaling::max_abs, ml::Scaling::min_max}) {
            const ml::Dataset z = ml::Normalizer::fit(wide, {.scaling = scaling}).transform(wide);
            const auto [lo, hi] = std::minmax_element(z.values().begin(), z.values().end());
            CHECK(*lo >= -1);
            CHECK(*hi <= 1);
            CHECK(*hi == Approx(1).margin(1e-15));
        }
    }
    SECTION("standardize") {
        const ml::Normalizer n = ml::Normalizer::fit(raw, {.scaling = ml::Scaling::standardize});
        const ml::Dataset z = n.transform(raw);
        double mean = 0;
        double square = 0;
        for (std::size_t i = 0; i < z.rows(); ++i) {
            mean += z.x(i, 1) / 4;
            square += z.x(i, 1) * z.x(i, 1) / 4;
        }
        CHECK(mean == Approx(0).margin(1e-15));
        CHECK(square == Approx(1).epsilon(1e-14));
        CHECK_THROWS_AS(
            ml::Normalizer::fit(raw, {.scaling = ml::Scaling::standardize, .clip = true}),
            cloak::InvalidArgumentError);
    }
    SECTION("clipping and public bounds") {
        const std::vector<double> lo{0, 0, 0};
        const std::vector<double> hi{1, 20, 10};
        const ml::Normalizer n = ml::Normalizer::from_bounds(lo, hi, ml::Scaling::min_max);
        CHECK(n.clips());
        const std::vector<double> z = n.transform_row(std::vector<double>{2, 10, 5});
        CHECK(z == std::vector<double>{1, 0, 0});  // 2 is beyond the bound 1
        CHECK_THROWS_AS(n.transform_row(std::vector<double>{1, 2}), cloak::ShapeError);
    }
}

TEST_CASE("ml/normalizer: travels with a model: copy, print, unnormalized weights", "[ml]") {
    const ml::SyntheticDataset s =
        ml::synthetic_linear(50, 3, 5, {.distribution = ml::FeatureDistribution::gaussian});
    for (const ml::Scaling scaling :
         {ml::Scaling::max_abs, ml::Scaling::min_max, ml::Scaling::standardize}) {
        const ml::Normalizer n = ml::Normalizer::fit(s.data, {.scaling = scaling});
        const ml::Normalizer copy = n;
        CHECK(copy == n);
        const ml::Normalizer rebuilt(n.scaling(), {n.scale().begin(), n.scale().end()},
                                     {n.offset().begin(), n.offset().end()});
        CHECK(rebuilt == n);
        // A linear model on normalized features equals its mapped model on raw ones.
        const std::vector<double> w{0.3, -1.5, 2.0, 0.25};
        const std::vector<double> raw_w = n.unnormalize_weights(w);
        const std::vector<double> on_z = ml::predict_scores(w, n.transform(s.data));
        const std::vector<double> on_x = ml::predict_scores(raw_w, s.data);
        for (std::size_t i = 0; i < on_z.size(); ++i) {
            CHECK(on_x[i] == Approx(on_z[i]).margin(1e-12));
        }
        const std::vector<double> tail(w.begin() + 1, w.end());
        CHECK(n.unnormalize_weights(tail, w[0]) == raw_w);
    }
    std::ostringstream text;
    text << ml::Normalizer(ml::Scaling::min_max, {0.5, 2}, {-1, 0.25});
    CHECK(text.str() == "ml::Normalizer(min_max, 2 features: z0 = 0.5 x0 - 1, z1 = 2 x1 + 0.25)");
    CHECK_THROWS_AS(ml::Normalizer(ml::Scaling::min_max, {0.0}, {0.0}),
                    cloak::InvalidArgumentError);
}

// ---------------------------------------------------------------------------
// Splits

namespace {

void check_partition(const ml::Partition& p, std::size_t n) {
    std::vector<std::size_t> all = p.train;
    all.insert(all.end(), p.test.begin(), p.test.end());
    std::sort(all.begin(), all.end());
    std::vector<std::size_t> expected(n);
    std::iota(expected.begin(), expected.end(), std::size_t{0});
    CHECK(all == expected);  // disjoint and covering: every index exactly once
    CHECK(std::is_sorted(p.train.begin(), p.train.end()));
    CHECK(std::is_sorted(p.test.begin(), p.test.end()));
}

std::size_t positives(const ml::Dataset& d, const std::vector<std::size_t>& indices) {
    return static_cast<std::size_t>(
        std::count_if(indices.begin(), indices.end(), [&](std::size_t i) { return d.y(i) == 1; }));
}

}  // namespace

TEST_CASE("ml/split: train/test partitions exactly, stratified and seeded", "[ml]") {
    const ml::Dataset d = ml::synthetic_logistic(1003, 2, 9).data;
    const std::size_t pos = positives(d, ml::detail::iota(d.rows()));
    for (const double fraction : {0.2, 0.5, 0.01}) {
        const ml::Partition p = ml::train_test_indices(d, fraction, 42);
        check_partition(p, d.rows());
        const auto expected = static_cast<std::size_t>(std::llround(fraction * 1003));
        CHECK(p.test.size() == expected);
        // Stratified: the test set's positives are the class's share of the quota, +-1.
        const double share = static_cast<double>(expected) * static_cast<double>(pos) / 1003;
        CHECK(std::abs(static_cast<double>(positives(d, p.test)) - share) <= 1);
    }
    const ml::Partition a = ml::train_test_indices(d, 0.2, 42);
    const ml::Partition b = ml::train_test_indices(d, 0.2, 42);
    const ml::Partition c = ml::train_test_indices(d, 0.2, 43);
    CHECK(a.test == b.test);
    CHECK(a.test != c.test);
    const ml::Partition plain = ml::train_test_indices(d, 0.2, 42, {.stratify = false});
    check_partition(plain, d.rows());
    CHECK(plain.test.size() == 201);

    const ml::TrainTest tt = ml::train_test_split(d, 0.2, 42);
    CHECK(tt.train.rows() == 802);
    CHECK(tt.test.rows() == 201);
    CHECK(tt.test.x(0, 1) == d.x(a.test[0], 1));
    CHECK_THROWS_AS(ml::train_test_indices(d, 1.0, 1), cloak::InvalidArgumentError);
}

TEST_CASE("ml/split: k folds partition exactly", "[ml]") {
    const ml::Dataset d = ml::synthetic_logistic(103, 2, 11).data;
    for (const bool stratify : {true, false}) {
        for (const std::size_t k : {2, 5, 10}) {
            const std::vector<ml::Partition> folds = ml::k_fold(d, k, 7, {.stratify = stratify});
            REQUIRE(folds.size() == k);
            std::vector<std::size_t> tested;
            for (const ml::Partition& f : folds) {
                check_partition(f, d.rows());
                CHECK((f.test.size() == 103 / k || f.test.size() == 103 / k + 1));
                tested.insert(tested.end(), f.test.begin(), f.test.end());
            }
            std::sort(tested.begin(), tested.end());
            CHECK(std::adjacent_find(tested.begin(), tested.end()) == tested.end());
            CHECK(tested.size() == 103);  // test sets are disjoint and cover everything
        }
    }
    CHECK(ml::k_fold(d, 5, 7).front().test == ml::k_fold(d, 5, 7).front().test);
    CHECK_THROWS_AS(ml::k_fold(d, 1, 7), cloak::InvalidArgumentError);
    CHECK_THROWS_AS(ml::k_fold(d, 104, 7), cloak::InvalidArgumentError);
}

// ---------------------------------------------------------------------------
// Synthetic data and the reference trainers

TEST_CASE("ml/synthetic: reproducible by seed; NAG on it beats 85% held out", "[ml]") {
    const ml::SyntheticDataset s = ml::synthetic_logistic();
    REQUIRE(s.data.rows() == 1579);
    REQUIRE(s.data.features() == 18);
    REQUIRE(s.weights.size() == 19);
    CHECK(s.data == ml::synthetic_logistic().data);
    CHECK(s.weights == ml::synthetic_logistic().weights);
    CHECK(s.data != ml::synthetic_logistic(1579, 18, 2).data);
    for (const double v : s.data.values()) {
        REQUIRE((v >= -1 && v < 1));
    }
    // What we measure: Kim et al.'s NAG, 7 iterations, exact sigmoid, trained
    // on 80% (seed-7 stratified split) and scored on the held-out 20% (316
    // samples). Measured: 90.5% accuracy, AUC 0.977; the true weights score
    // 91.5% on the same test set.
    const ml::TrainTest tt = ml::train_test_split(s.data, 0.2, 7);
    const std::vector<double> w = ml::plain::logistic_regression(tt.train);
    const ml::Metrics m = ml::evaluate_logistic(w, tt.test);
    const ml::Metrics truth = ml::evaluate_logistic(s.weights, tt.test);
    INFO("trained: " << m << "; true weights: " << truth);
    CHECK(m.accuracy > 0.85);
    CHECK(m.auc > 0.95);
    CHECK(m.accuracy > truth.accuracy - 0.03);

    const ml::SyntheticDataset lin = ml::synthetic_linear(200, 4, 3, {.noise = 0.0});
    CHECK(lin.data.task() == ml::Task::regression);
    const std::vector<double> exact = ml::predict_scores(lin.weights, lin.data);
    CHECK(std::equal(exact.begin(), exact.end(), lin.data.labels().begin()));

    const ml::Dataset circles = ml::synthetic_circles(400, 3);
    REQUIRE(circles.features() == 2);
    double inner = 0;
    double outer = 0;
    for (std::size_t i = 0; i < circles.rows(); ++i) {
        const double r = std::hypot(circles.x(i, 0), circles.x(i, 1));
        (circles.y(i) == 1 ? inner : outer) += r / 200;
    }
    CHECK(inner == Approx(0.5).margin(0.02));
    CHECK(outer == Approx(1.0).margin(0.02));
    CHECK(circles.positive_fraction() == 0.5);
    // No line separates the circles.
    const std::vector<double> lw = ml::plain::logistic_regression(
        circles, {.iterations = 50, .learning_rate = [](std::size_t) { return 1.0; }});
    CHECK(ml::evaluate_logistic(lw, circles).accuracy < 0.65);
}

TEST_CASE("ml/plain/logistic: first NAG step, schedule, exact vs degree-3 sigmoid", "[ml]") {
    const ml::SyntheticDataset s = ml::synthetic_logistic(600, 6, 21);
    // Step 1 from w = 0: gamma_1 = 0 and sigma(0) = 1/2, so
    // w_1 = alpha_1 (1/n) sum z_i / 2 = 2.5 mean(z), z_i = y_i (1, x_i), y in {-1, +1}.
    std::vector<double> mean_z(7, 0.0);
    for (std::size_t i = 0; i < s.data.rows(); ++i) {
        const double y = s.data.y(i) == 1 ? 1 : -1;
        mean_z[0] += y / 600;
        for (std::size_t j = 0; j < 6; ++j) {
            mean_z[j + 1] += y * s.data.x(i, j) / 600;
        }
    }
    const std::vector<double> w1 = ml::plain::logistic_regression(s.data, {.iterations = 1});
    for (std::size_t j = 0; j < 7; ++j) {
        CHECK(w1[j] == Approx(2.5 * mean_z[j]).margin(1e-14));
    }
    ml::plain::NesterovSchedule schedule;
    CHECK(schedule.next_gamma() == 0);
    const double lambda2 = (1 + std::sqrt(5.0)) / 2;
    const double lambda3 = (1 + std::sqrt(1 + 4 * lambda2 * lambda2)) / 2;
    CHECK(schedule.next_gamma() == Approx((1 - lambda2) / lambda3).epsilon(1e-15));

    // The callback sees every iterate; the last equals the result.
    std::size_t calls = 0;
    std::vector<double> last;
    const std::vector<double> w7 = ml::plain::logistic_regression(
        s.data, {.on_iteration = [&](std::size_t t, std::span<const double> w) {
            CHECK(t == ++calls);
            last.assign(w.begin(), w.end());
        }});
    CHECK(calls == ml::plain::default_logistic_iterations);
    CHECK(last == w7);

    // Kim et al.'s degree-3 sigmoid trains almost as well as the exact one
    // (measured on the iDASH-shaped set, 80/20: 90.5% vs 89.9%).
    const ml::TrainTest tt = ml::train_test_split(ml::synthetic_logistic().data, 0.2, 7);
    const double exact =
        ml::evaluate_logistic(ml::plain::logistic_regression(tt.train), tt.test).accuracy;
    const double poly =
        ml::evaluate_logistic(
            ml::plain::logistic_regression(tt.train, {.sigmoid = ml::plain::kim2018_sigmoid3}),
            tt.test)
            .accuracy;
    const double gd =
        ml::evaluate_logistic(ml::plain::logistic_regression(
                                  tt.train, {.optimizer = ml::plain::Optimizer::gradient_descent}),
                              tt.test)
            .accuracy;
    const double batched =
        ml::evaluate_logistic(ml::plain::logistic_regression(
                                  tt.train, {.iterations = 40, .batch_size = 128, .seed = 3}),
                              tt.test)
            .accuracy;
    INFO("exact " << exact << ", degree 3 " << poly << ", gradient descent " << gd
                  << ", mini-batch " << batched);
    CHECK(std::abs(exact - poly) < 0.03);
    CHECK(gd > 0.85);
    CHECK(batched > 0.85);
    CHECK(ml::plain::kim2018_sigmoid3(8) == Approx(0.5 + 1.20096 - 0.81562).epsilon(1e-4));

    CHECK_THROWS_AS(ml::plain::logistic_regression(tt.train, {.batch_size = 0}),
                    cloak::InvalidArgumentError);
    CHECK_THROWS_AS(ml::plain::logistic_regression(ml::synthetic_linear(10, 2, 1).data),
                    cloak::InvalidArgumentError);
}

TEST_CASE("ml/plain/linear: ridge gradient descent converges to the closed form", "[ml]") {
    const ml::SyntheticDataset s = ml::synthetic_linear(800, 5, 13);
    for (const double ridge : {0.0, 0.1}) {
        const std::vector<double> exact = ml::plain::ridge_closed_form(s.data, ridge);
        // The closed form satisfies the normal equations: zero gradient.
        std::vector<double> gradient(6, 0.0);
        for (std::size_t i = 0; i < s.data.rows(); ++i) {
            const double r =
                ml::predict_scores(exact, s.data.subset(std::vector<std::size_t>{i}))[0] -
                s.data.y(i);
            gradient[0] += r / 800;
            for (std::size_t j = 0; j < 5; ++j) {
                gradient[j + 1] += r * s.data.x(i, j) / 800;
            }
        }
        for (std::size_t j = 1; j < 6; ++j) {
            gradient[j] += ridge * exact[j];
        }
        for (const double g : gradient) {
            CHECK(std::abs(g) < 1e-13);
        }
        for (const auto optimizer :
             {ml::plain::Optimizer::gradient_descent, ml::plain::Optimizer::nesterov}) {
            const std::vector<double> w = ml::plain::linear_regression(
                s.data, {.iterations = 300, .ridge = ridge, .optimizer = optimizer});
            for (std::size_t j = 0; j < 6; ++j) {
                CHECK(w[j] == Approx(exact[j]).margin(1e-6));
            }
        }
    }
    // Without ridge and with noise 0.1 on 800 samples, the fit is the true model.
    const std::vector<double> ols = ml::plain::ridge_closed_form(s.data);
    for (std::size_t j = 0; j < 6; ++j) {
        CHECK(ols[j] == Approx(s.weights[j]).margin(0.03));
    }
    const ml::Metrics m = ml::evaluate_linear(ols, s.data);
    CHECK(m.mse == Approx(0.01).epsilon(0.15));  // the noise variance
    CHECK(m.r2 > 0.98);
    // Constant features make the normal equations singular without ridge.
    const ml::Dataset flat(3, 2, {1, 1, 1, 1, 1, 1}, {1, 2, 3}, ml::Task::regression);
    CHECK_THROWS_AS(ml::plain::ridge_closed_form(flat), cloak::InvalidArgumentError);
    CHECK_NOTHROW(ml::plain::ridge_closed_form(flat, 0.5));
}

// ---------------------------------------------------------------------------
// Metrics

TEST_CASE("ml/metrics: AUC, accuracy, MSE, R^2 and log loss on small vectors", "[ml]") {
    const std::vector<double> labels{0, 0, 1, 1};
    CHECK(ml::auc(std::vector<double>{0.1, 0.2, 0.8, 0.9}, labels) == 1.0);
    CHECK(ml::auc(std::vector<double>{0.9, 0.8, 0.2, 0.1}, labels) == 0.0);
    CHECK(ml::auc(std::vector<double>{0.5, 0.5, 0.5, 0.5}, labels) == 0.5);
    CHECK(ml::auc(std::vector<double>{0.1, 0.4, 0.35, 0.8}, labels) == 0.75);
    // Pairs (pos, neg): (0.5, 0.5) ties for 1/2, the other three are won: 3.5 / 4.
    CHECK(ml::auc(std::vector<double>{0.5, 0.2, 0.5, 0.9}, labels) == 0.875);
    // -1/+1 labels and logits give the same AUC.
    CHECK(ml::auc(std::vector<double>{-2, 0, 0, 3}, std::vector<double>{-1, 1, -1, 1}) == 0.875);
    CHECK_THROWS_AS(ml::auc(std::vector<double>{0.1, 0.2}, std::vector<double>{1, 1}),
                    cloak::InvalidArgumentError);
    CHECK_THROWS_AS(ml::auc(std::vector<double>{0.1}, labels), cloak::ShapeError);

    CHECK(ml::accuracy(std::vector<double>{0.4, 0.6, 0.5, 0.1}, labels) == 0.5);
    CHECK(ml::accuracy(std::vector<double>{-1, 2, 0, 3}, labels, 0.0) == 0.75);

    const std::vector<double> targets{1, 2, 4};
    const std::vector<double> predictions{1, 2, 3};
    CHECK(ml::mse(predictions, targets) == Approx(1.0 / 3).epsilon(1e-15));
    // SS_tot = (4/3)^2 + (1/3)^2 + (5/3)^2 = 42/9, SS_res = 1: R^2 = 1 - 9/42.
    CHECK(ml::r2(predictions, targets) == Approx(33.0 / 42).epsilon(1e-15));
    CHECK(ml::r2(targets, targets) == 1.0);
    CHECK_THROWS_AS(ml::r2(predictions, std::vector<double>{2, 2, 2}), cloak::InvalidArgumentError);

    CHECK(ml::log_loss(std::vector<double>{0.9, 0.2}, std::vector<double>{1, 0}) ==
          Approx(-(std::log(0.9) + std::log(0.8)) / 2).epsilon(1e-15));
    CHECK(ml::log_loss(std::vector<double>{0.0}, std::vector<double>{1}) ==
          Approx(-std::log(1e-15)).epsilon(1e-12));

    const ml::Metrics m = ml::evaluate_classifier(std::vector<double>{0.1, 0.4, 0.35, 0.8}, labels);
    CHECK(m.accuracy == 0.75);
    CHECK(m.auc == 0.75);
    CHECK(m.mse == Approx((0.01 + 0.16 + 0.4225 + 0.04) / 4).epsilon(1e-14));
    CHECK(m.samples == 4);
    std::ostringstream text;
    text << m;
    CHECK(contains(text.str(), "accuracy 75.00%, AUC 0.7500, log loss "));
    CHECK(contains(text.str(), "(n = 4)"));
    const ml::Metrics logits = ml::evaluate_classifier(std::vector<double>{-2, -0.5, -0.6, 1.5},
                                                       labels, ml::Output::score);
    CHECK(logits.accuracy == 0.75);
    CHECK(logits.auc == 0.75);
    const ml::Metrics one_class =
        ml::evaluate_classifier(std::vector<double>{0.7, 0.2}, std::vector<double>{1, 1});
    CHECK(std::isnan(one_class.auc));
    CHECK(one_class.accuracy == 0.5);
    const ml::Metrics reg = ml::evaluate_regressor(predictions, targets);
    CHECK(std::isnan(reg.accuracy));
    std::ostringstream reg_text;
    reg_text << reg;
    CHECK(reg_text.str() == "MSE 0.3333, R^2 0.7857 (n = 3)");
}

// ---------------------------------------------------------------------------
// Differential privacy

namespace {

/// eps(alpha) of T Gaussian steps, Mironov's conversion.
double mironov(double alpha, double steps, double delta_sens, double sigma, double delta) {
    return steps * alpha * delta_sens * delta_sens / (2 * sigma * sigma) +
           std::log(1 / delta) / (alpha - 1);
}

}  // namespace

TEST_CASE("ml/privacy/rdp: composed Gaussian mechanisms against the closed form", "[ml]") {
    struct Case {
        std::size_t steps;
        double sensitivity;
        double sigma;
        double delta;
    };
    for (const Case c :
         {Case{1, 1.0, 1.0, 1e-5}, Case{7, 0.1, 1.0, 1e-5}, Case{100, 1.0, 5.0, 1e-6},
          Case{30, 2 * std::sqrt(10.0) / 1253, 0.01, 1e-5}}) {
        const auto steps = static_cast<double>(c.steps);
        ml::RdpAccountant accountant;
        accountant.compose({c.sensitivity, c.sigma}, c.steps);
        // RDP: T alpha Delta^2 / (2 sigma^2) at every order.
        for (std::size_t k = 0; k < accountant.orders().size(); ++k) {
            const double alpha = accountant.orders()[k];
            REQUIRE(accountant.rdp()[k] ==
                    Approx(steps * alpha * c.sensitivity * c.sensitivity / (2 * c.sigma * c.sigma))
                        .epsilon(1e-14));
        }
        // Brute force over the same grid.
        double brute = INFINITY;
        for (const double alpha : accountant.orders()) {
            brute = std::min(brute, mironov(alpha, steps, c.sensitivity, c.sigma, c.delta));
        }
        const ml::PrivacySpent spent = accountant.spent(c.delta, ml::RdpConversion::mironov);
        CHECK(spent.epsilon == Approx(brute).epsilon(1e-14));
        // The continuous optimum: alpha* = 1 + sqrt(L / rho), eps* = rho + 2 sqrt(rho L)
        // = T Delta^2 / (2 sigma^2) + sqrt(2 T Delta^2 ln(1/delta) / sigma^2).
        const double rho = steps * c.sensitivity * c.sensitivity / (2 * c.sigma * c.sigma);
        const double log_inv_delta = std::log(1 / c.delta);
        const double analytic = rho + std::sqrt(2 * steps * c.sensitivity * c.sensitivity *
                                                log_inv_delta / (c.sigma * c.sigma));
        const double best_alpha = 1 + std::sqrt(log_inv_delta / rho);
        INFO("T = " << c.steps << ", Delta = " << c.sensitivity << ", sigma = " << c.sigma
                    << ": grid " << spent << ", continuous eps* = " << analytic
                    << " at alpha* = " << best_alpha);
        CHECK(spent.epsilon >= analytic * (1 - 1e-14));
        // Grid tolerance: no worse than the grid orders that bracket alpha*.
        const auto orders = accountant.orders();
        const auto above = std::upper_bound(orders.begin(), orders.end(), best_alpha);
        REQUIRE(above != orders.begin());
        REQUIRE(above != orders.end());
        const double bracket =
            std::max(mironov(*(above - 1), steps, c.sensitivity, c.sigma, c.delta),
                     mironov(*above, steps, c.sensitivity, c.sigma, c.delta));
        CHECK(spent.epsilon <= bracket * (1 + 1e-14));
        CHECK(spent.epsilon == Approx(analytic).epsilon(0.005));
        // The tighter conversion is always below Mironov's.
        CHECK(accountant.epsilon(c.delta) < spent.epsilon);
    }
    // Composition is additive.
    ml::RdpAccountant split;
    split.compose({0.5, 2.0}, 3);
    split.compose({0.5, 2.0}, 4);
    ml::RdpAccountant whole;
    whole.compose({0.5, 2.0}, 7);
    CHECK(split.epsilon(1e-5) == Approx(whole.epsilon(1e-5)).epsilon(1e-14));
    CHECK(split.steps() == 7);
    CHECK(ml::RdpAccountant().epsilon(1e-5) == 0);
    CHECK_THROWS_AS(whole.spent(0), cloak::InvalidArgumentError);
    CHECK_THROWS_AS(whole.compose({0.5, 0.0}), cloak::InvalidArgumentError);
    CHECK_THROWS_AS(ml::RdpAccountant(std::vector<double>{1.0}), cloak::InvalidArgumentError);
}

TEST_CASE("ml/privacy: sigma for a budget, and the gradient's sensitivity", "[ml]") {
    for (const double target : {0.5, 1.0, 4.0}) {
        const double delta = 1e-5;
        const std::size_t steps = 7;
        const double sensitivity = ml::logistic_gradient_sensitivity(1253, 9);
        CHECK(sensitivity == Approx(2 * std::sqrt(10.0) / 1253).epsilon(1e-15));
        const double sigma =
            ml::sigma_for_epsilon(target, delta, steps, sensitivity, ml::RdpConversion::mironov);
        ml::RdpAccountant accountant;
        accountant.compose({sensitivity, sigma}, steps);
        const double spent = accountant.epsilon(delta, ml::RdpConversion::mironov);
        CHECK(spent <= target);
        CHECK(spent == Approx(target).epsilon(1e-6));
        // Continuous inverse of eps = rho + 2 sqrt(rho L): sqrt(rho) = sqrt(L + eps) - sqrt(L).
        const double log_inv = std::log(1 / delta);
        const double root_rho = std::sqrt(log_inv + target) - std::sqrt(log_inv);
        const double analytic_sigma = std::sqrt(static_cast<double>(steps) * sensitivity *
                                                sensitivity / (2 * root_rho * root_rho));
        INFO("epsilon " << target << ": sigma " << sigma << " (noise multiplier "
                        << sigma / sensitivity << "), continuous optimum " << analytic_sigma);
        CHECK(sigma >= analytic_sigma * (1 - 1e-9));
        CHECK(sigma == Approx(analytic_sigma).epsilon(0.005));
        // The tighter conversion needs less noise.
        CHECK(ml::sigma_for_epsilon(target, delta, steps, sensitivity) < sigma);
    }
    // Replace-one neighbours move the averaged gradient by at most 2 sqrt(d + 1) / n.
    const std::size_t n = 40;
    const std::size_t d = 5;
    const ml::Dataset data = ml::synthetic_logistic(n, d, 17).data;
    const auto gradient = [&](const ml::Dataset& set, const std::vector<double>& w) {
        std::vector<double> g(d + 1, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            const double y = set.y(i) == 1 ? 1 : -1;
            double t = y * w[0];
            for (std::size_t j = 0; j < d; ++j) {
                t += y * set.x(i, j) * w[j + 1];
            }
            const double s = ml::sigmoid(-t);
            g[0] += s * y / static_cast<double>(n);
            for (std::size_t j = 0; j < d; ++j) {
                g[j + 1] += s * y * set.x(i, j) / static_cast<double>(n);
            }
        }
        return g;
    };
    const auto distance = [](const std::vector<double>& a, const std::vector<double>& b) {
        double sum = 0;
        for (std::size_t j = 0; j < a.size(); ++j) {
            sum += (a[j] - b[j]) * (a[j] - b[j]);
        }
        return std::sqrt(sum);
    };
    const double bound = ml::logistic_gradient_sensitivity(n, d);
    const auto replaced = [&](const std::vector<double>& x, double label) {
        std::vector<double> values(data.values().begin(), data.values().end());
        std::vector<double> labels(data.labels().begin(), data.labels().end());
        std::copy(x.begin(), x.end(), values.begin());
        labels[0] = label;
        return ml::Dataset(n, d, values, labels);
    };
    // Random neighbours at random weights never exceed the bound.
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (int trial = 0; trial < 200; ++trial) {
        std::vector<double> xa(d);
        std::vector<double> xb(d);
        std::vector<double> w(d + 1);
        for (std::size_t j = 0; j < d; ++j) {
            xa[j] = uniform(rng) < 0 ? -1 : 1;
            xb[j] = uniform(rng);
        }
        for (double& v : w) {
            v = 10 * uniform(rng);
        }
        const double diff = distance(gradient(replaced(xa, trial % 2), w),
                                     gradient(replaced(xb, (trial / 2) % 2), w));
        REQUIRE(diff <= bound);
    }
    // Opposite corners, same label, weights on the bias only: both terms have
    // sigma(20) ~ 1, so the change is 2 sqrt(d) / n, within sqrt(d / (d + 1)) of the bound.
    std::vector<double> bias_only(d + 1, 0.0);
    bias_only[0] = -20;
    const double corner = distance(gradient(replaced(std::vector<double>(d, 1.0), 1), bias_only),
                                   gradient(replaced(std::vector<double>(d, -1.0), 1), bias_only));
    INFO("gradient change " << corner << ", bound " << bound);
    CHECK(corner <= bound);
    CHECK(corner ==
          Approx(2 * std::sqrt(static_cast<double>(d)) / static_cast<double>(n)).epsilon(1e-8));
}

TEST_CASE("ml/privacy/noise: CSPRNG Gaussian noise has the requested deviation", "[ml]") {
    cloak::core::Seed seed{};
    seed[0] = 7;
    const double sigma = 2.5;
    const std::size_t count = 200001;  // odd: the last Box-Muller pair is cut
    const std::vector<double> noise = ml::gaussian_noise(count, sigma, seed);
    REQUIRE(noise.size() == count);
    const double n = static_cast<double>(count);
    const double mean = std::accumulate(noise.begin(), noise.end(), 0.0) / n;
    double square = 0;
    for (const double x : noise) {
        square += (x - mean) * (x - mean);
    }
    const double variance = square / (n - 1);
    // Standard errors: sigma / sqrt(n) for the mean, sigma^2 sqrt(2 / (n - 1)) for the variance.
    INFO("mean " << mean << ", variance " << variance << " (expected " << sigma * sigma << ")");
    CHECK(std::abs(mean) < 4 * sigma / std::sqrt(n));
    CHECK(std::abs(variance - sigma * sigma) < 4 * sigma * sigma * std::sqrt(2 / (n - 1)));
    // Reproducible from the seed; the stream continues across calls.
    CHECK(ml::gaussian_noise(10, sigma, seed) ==
          std::vector<double>(noise.begin(), noise.begin() + 10));
    cloak::core::Prng prng(seed);
    const std::vector<double> first = ml::gaussian_noise(4, sigma, prng);
    const std::vector<double> second = ml::gaussian_noise(4, sigma, prng);
    CHECK(first == std::vector<double>(noise.begin(), noise.begin() + 4));
    CHECK(second != first);
    // A mechanism adds exactly such noise.
    std::vector<double> values(6, 1.0);
    cloak::core::Prng replay(seed);
    ml::GaussianMechanism{0.1, sigma}.add_noise(values, replay);
    for (std::size_t i = 0; i < values.size(); ++i) {
        CHECK(values[i] == 1.0 + noise[i]);
    }
    CHECK(ml::gaussian_noise(3, 1.0).size() == 3);  // fresh entropy
    CHECK_THROWS_AS(ml::gaussian_noise(3, 0.0, seed), cloak::InvalidArgumentError);
}

TEST_CASE("ml/privacy: differentially private NAG simulated in the clear", "[ml]") {
    // Noise on the averaged gradient at every step, sized by the accountant for
    // (epsilon, 1e-5)-DP over the 7 steps (replace-one neighbours, features in [-1, 1]).
    const ml::TrainTest tt = ml::train_test_split(ml::synthetic_logistic().data, 0.2, 7);
    const double sensitivity =
        ml::logistic_gradient_sensitivity(tt.train.rows(), tt.train.features());
    const std::vector<double> zero = ml::plain::logistic_regression(
        tt.train, {.on_gradient = [](std::size_t, std::span<double> g) {
            std::fill(g.begin(), g.end(), 0.0);
        }});
    CHECK(zero == std::vector<double>(19, 0.0));
    // Measured over 20 noise seeds: epsilon 0.5: 74.0%, 1: 81.5%, 2: 87.0%,
    // 8: 90.5% (non-private: 90.5%). Here 5 seeds at epsilon = 2.
    const double sigma = ml::sigma_for_epsilon(2.0, 1e-5, 7, sensitivity);
    double accuracy = 0;
    for (std::uint8_t run = 0; run < 5; ++run) {
        cloak::core::Seed seed{};
        seed[0] = run;
        cloak::core::Prng prng(seed);
        const ml::GaussianMechanism mechanism{sensitivity, sigma};
        const std::vector<double> w = ml::plain::logistic_regression(
            tt.train, {.on_gradient = [&](std::size_t, std::span<double> g) {
                mechanism.add_noise(g, prng);
            }});
        accuracy += ml::evaluate_logistic(w, tt.test).accuracy / 5;
    }
    INFO("sensitivity " << sensitivity << ", sigma " << sigma << ", mean accuracy " << accuracy);
    CHECK(accuracy > 0.8);
}

// ---------------------------------------------------------------------------
// Shared medical data (../shared/data, outside the project)

namespace {

/// The directory holding edin.tsv: $CLOAK_SHARED_DATA, else shared/data in the
/// current directory or one of its ancestors.
std::optional<std::filesystem::path> shared_data() {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (const char* env = std::getenv("CLOAK_SHARED_DATA"); env != nullptr && *env != '\0') {
        if (fs::exists(fs::path(env) / "edin.tsv", ec)) {
            return fs::path(env);
        }
    }
    for (fs::path dir = fs::current_path(ec); !dir.empty(); dir = dir.parent_path()) {
        if (fs::exists(dir / "shared" / "data" / "edin.tsv", ec)) {
            return dir / "shared" / "data";
        }
        if (dir == dir.parent_path()) {
            break;
        }
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("ml/shared-data/edin: 1253 x 9, NAG with the degree-3 sigmoid", "[ml][shared-data]") {
    const std::optional<std::filesystem::path> dir = shared_data();
    if (!dir) {
        SUCCEED("shared/data/edin.tsv not found (set CLOAK_SHARED_DATA); skipped");
        return;
    }
    const ml::Dataset edin = ml::Dataset::load_csv(*dir / "edin.tsv");
    REQUIRE(edin.rows() == 1253);
    REQUIRE(edin.features() == 9);
    // Kim et al.'s setting: 7 NAG iterations, alpha_t = 10 / (t + 1), degree-3
    // sigmoid, max-abs normalization fitted on each training fold. Measured,
    // 5-fold stratified CV (seed 1): accuracy 86.6%, AUC 0.953; exact sigmoid
    // 89.1% / 0.954; on the whole set (train = test) 86.4%.
    double accuracy = 0;
    double auc = 0;
    for (const ml::Partition& fold : ml::k_fold(edin, 5, 1)) {
        const ml::TrainTest tt = ml::split(edin, fold);
        const ml::Normalizer normalizer = ml::Normalizer::fit(tt.train);
        const std::vector<double> w = ml::plain::logistic_regression(
            normalizer.transform(tt.train), {.sigmoid = ml::plain::kim2018_sigmoid3});
        const ml::Metrics m = ml::evaluate_logistic(w, normalizer.transform(tt.test));
        accuracy += m.accuracy / 5;
        auc += m.auc / 5;
    }
    WARN("edin.tsv, 5-fold NAG (7 iterations, degree-3 sigmoid): accuracy " << accuracy << ", AUC "
                                                                            << auc);
    CHECK(accuracy >= 0.85);
    CHECK(auc >= 0.93);
    for (const char* name : {"lbw.tsv", "pcs.tsv", "uis.tsv"}) {
        const ml::Dataset other = ml::Dataset::load_csv(*dir / name);
        CHECK(other.rows() > 100);
    }
}

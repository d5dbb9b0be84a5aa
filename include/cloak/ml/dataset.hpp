// cloak: plaintext datasets for training: loading, normalization, splits and
// synthetic data.
//
// A Dataset is n samples of d real features (row-major) and n labels. It is
// loaded from CSV/TSV text with clear errors (line and column of every bad
// cell), normalized by a Normalizer whose statistics travel with the trained
// model, split deterministically by seed, or generated from a known model for
// tests and demos. Nothing here encrypts: ml's encrypted training packs these
// values into ciphertexts.
//
// Every seeded routine draws from std::mt19937_64 through this file's own
// uniform, Gaussian and shuffle helpers (not std::uniform_real_distribution,
// std::normal_distribution or std::shuffle, whose algorithms differ between
// standard libraries), so one seed gives the same data on every platform.
// These generators are for data, never for secrets or privacy noise: see
// ml/privacy.hpp for the CSPRNG-driven Gaussian noise.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <istream>
#include <limits>
#include <numbers>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include <cloak/core/error.hpp>

namespace cloak::inline v0::ml {

/// What the labels mean.
enum class Task {
    /// Binary labels 0/1 (a file's -1/+1 labels are mapped to 0/1).
    classification,
    /// Any finite real label.
    regression,
};

inline constexpr Task default_task = Task::classification;

/// A column of a file: by header name, or by 0-based index (negative counts
/// from the end: -1 is the last column). Converts implicitly, so options read
/// `{.label = "outcome"}` or `{.label = -1}`.
class Column {
  public:
    // Implicit on purpose, so that option literals read naturally.
    /// @throws InvalidArgumentError for a null name.
    Column(const char* name) : ref_(std::string(checked(name))) {}
    Column(std::string name) : ref_(std::move(name)) {}
    Column(std::string_view name) : ref_(std::string(name)) {}
    Column(int index) : ref_(index) {}

    [[nodiscard]] bool by_name() const noexcept { return ref_.index() == 0; }
    /// The name; empty for a column given by index.
    [[nodiscard]] std::string name() const { return by_name() ? std::get<0>(ref_) : std::string(); }
    /// The index as given (possibly negative); 0 for a column given by name.
    [[nodiscard]] int index() const noexcept { return by_name() ? 0 : std::get<1>(ref_); }

    friend std::ostream& operator<<(std::ostream& out, const Column& column) {
        if (column.by_name()) {
            return out << '\'' << column.name() << '\'';
        }
        return out << "index " << column.index();
    }

  private:
    static const char* checked(const char* name) {
        if (name == nullptr) {
            throw InvalidArgumentError(
                "ml::Column: null column name; pass a name or a 0-based index (-1: the last "
                "column)");
        }
        return name;
    }

    std::variant<std::string, int> ref_;
};

/// Options of Dataset::load_csv and Dataset::parse; every field is optional.
struct LoadOptions {
    /// The label column (default: the last column). A name needs a header row.
    std::optional<Column> label = std::nullopt;
    /// Classification (labels 0/1 or -1/+1, default) or regression (any real).
    std::optional<Task> task = std::nullopt;
    /// The field separator: ',', '\t', ';', or ' ' for runs of spaces and tabs.
    /// Default: detected from the first non-blank line: a tab if it has one,
    /// else a comma, else a semicolon, else whitespace.
    std::optional<char> delimiter = std::nullopt;
    /// Whether the first non-blank line names the columns. Default: detected:
    /// a header when one of its cells (outside `ignore`d columns) is not a number.
    std::optional<bool> header = std::nullopt;
    /// Columns to drop (identifiers, dates): never parsed, so they may hold text.
    std::vector<Column> ignore = {};
};

/// n samples of d features (row-major) with one label each.
///
/// A regular value type. For classification the labels are exactly 0 or 1.
/// Accessors check their indices and throw InvalidArgumentError out of range.
class Dataset {
  public:
    /// An empty dataset (0 rows, 0 features).
    Dataset() = default;

    /// A dataset from row-major values (rows x features) and labels.
    /// @throws ShapeError when the sizes disagree (values.size() != rows *
    ///         features, labels.size() != rows, or names neither empty nor one
    ///         per feature).
    /// @throws InvalidArgumentError for a non-finite value or label, or a
    ///         classification label other than 0 or 1.
    Dataset(std::size_t rows, std::size_t features, std::vector<double> values,
            std::vector<double> labels, Task task = default_task,
            std::vector<std::string> feature_names = {}, std::string label_name = {})
        : rows_(rows),
          features_(features),
          values_(std::move(values)),
          labels_(std::move(labels)),
          feature_names_(std::move(feature_names)),
          label_name_(std::move(label_name)),
          task_(task) {
        validate();
    }

    /// Reads a CSV/TSV file: one sample per line, the label in one column.
    /// Blank lines are skipped, CRLF line ends and a UTF-8 byte-order mark are
    /// accepted, and a field in double quotes may contain the delimiter ("" is
    /// a quote). See LoadOptions for the defaults.
    /// @throws InvalidArgumentError naming the path when the file cannot be
    ///         opened, and naming the line and column of the first bad cell:
    ///         not a number, empty, NaN or infinite, a wrong number of columns,
    ///         a label other than 0/1/-1 for classification; also for an empty
    ///         file, an unknown label column name, or a name without a header.
    [[nodiscard]] static Dataset load_csv(const std::filesystem::path& path,
                                          const LoadOptions& options = {}) {
        constexpr const char* function = "ml::Dataset::load_csv";
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            std::error_code ec;
            const bool exists = std::filesystem::exists(path, ec);
            const std::filesystem::path cwd = std::filesystem::current_path(ec);
            throw InvalidArgumentError(cloak::detail::message(
                function, ": cannot open '", path.string(), "' (",
                exists ? "it exists but cannot be read: check its permissions" : "no such file",
                path.is_relative()
                    ? "; relative paths start at the current directory '" + cwd.string() + "'"
                    : std::string(),
                "); pass the path of a readable CSV or TSV file"));
        }
        return parse_impl(in, options, path.string(), function);
    }

    /// Reads CSV/TSV text from a stream, exactly as load_csv reads a file;
    /// `source` names the stream in error messages.
    /// @throws InvalidArgumentError as load_csv does.
    [[nodiscard]] static Dataset parse(std::istream& in, const LoadOptions& options = {},
                                       std::string_view source = "<stream>") {
        return parse_impl(in, options, source, "ml::Dataset::parse");
    }

    /// Number of samples n.
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    /// Number of features d (the label is not a feature).
    [[nodiscard]] std::size_t features() const noexcept { return features_; }
    [[nodiscard]] Task task() const noexcept { return task_; }
    [[nodiscard]] bool empty() const noexcept { return rows_ == 0; }

    /// Feature j of sample i.
    /// @throws InvalidArgumentError for i >= rows() or j >= features().
    [[nodiscard]] double x(std::size_t i, std::size_t j) const {
        check_row("ml::Dataset::x", i);
        if (j >= features_) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::Dataset::x: feature ", j, " is out of range; the dataset has ", features_,
                " features (indices 0 to ", features_ == 0 ? 0 : features_ - 1, ")"));
        }
        return values_[i * features_ + j];
    }
    /// The label of sample i.
    /// @throws InvalidArgumentError for i >= rows().
    [[nodiscard]] double y(std::size_t i) const {
        check_row("ml::Dataset::y", i);
        return labels_[i];
    }
    /// The d features of sample i.
    /// @throws InvalidArgumentError for i >= rows().
    [[nodiscard]] std::span<const double> row(std::size_t i) const {
        check_row("ml::Dataset::row", i);
        return std::span<const double>(values_).subspan(i * features_, features_);
    }
    /// All features, row-major: x(i, j) is values()[i * features() + j].
    [[nodiscard]] std::span<const double> values() const noexcept { return values_; }
    /// All labels.
    [[nodiscard]] std::span<const double> labels() const noexcept { return labels_; }
    /// One name per feature, or empty when the source had no header.
    [[nodiscard]] const std::vector<std::string>& feature_names() const noexcept {
        return feature_names_;
    }
    /// The label column's name, or empty when the source had no header.
    [[nodiscard]] const std::string& label_name() const noexcept { return label_name_; }

    /// Fraction of labels equal to 1 (classification), 0 for an empty dataset.
    [[nodiscard]] double positive_fraction() const noexcept {
        if (rows_ == 0) {
            return 0;
        }
        return static_cast<double>(std::count(labels_.begin(), labels_.end(), 1.0)) /
               static_cast<double>(rows_);
    }

    /// The samples at `indices`, in that order (repeats allowed).
    /// @throws InvalidArgumentError for an index >= rows().
    [[nodiscard]] Dataset subset(std::span<const std::size_t> indices) const {
        std::vector<double> values;
        std::vector<double> labels;
        values.reserve(indices.size() * features_);
        labels.reserve(indices.size());
        for (const std::size_t i : indices) {
            check_row("ml::Dataset::subset", i);
            const auto r = std::span<const double>(values_).subspan(i * features_, features_);
            values.insert(values.end(), r.begin(), r.end());
            labels.push_back(labels_[i]);
        }
        Dataset out;
        out.rows_ = indices.size();
        out.features_ = features_;
        out.values_ = std::move(values);
        out.labels_ = std::move(labels);
        out.feature_names_ = feature_names_;
        out.label_name_ = label_name_;
        out.task_ = task_;
        return out;
    }

    /// The same samples with other features (same labels, names and task);
    /// used by Normalizer::transform.
    /// @throws ShapeError when values.size() != rows() * features().
    [[nodiscard]] Dataset with_values(std::vector<double> values) const {
        return Dataset(rows_, features_, std::move(values), labels_, task_, feature_names_,
                       label_name_);
    }

    friend bool operator==(const Dataset&, const Dataset&) = default;

    /// "ml::Dataset(1253 rows x 9 features, classification, 34.1% positive)".
    friend std::ostream& operator<<(std::ostream& out, const Dataset& data) {
        std::ostringstream text;
        text << "ml::Dataset(" << data.rows_ << " rows x " << data.features_ << " features, ";
        if (data.task_ == Task::classification) {
            text << "classification, " << std::fixed << std::setprecision(1)
                 << 100 * data.positive_fraction() << "% positive";
        } else {
            text << "regression";
        }
        if (!data.label_name_.empty()) {
            text << ", label '" << data.label_name_ << '\'';
        }
        text << ')';
        return out << text.str();
    }

  private:
    void check_row(const char* function, std::size_t i) const {
        if (i >= rows_) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": sample ", i, " is out of range; the dataset has ", rows_,
                " rows (indices 0 to ", rows_ == 0 ? 0 : rows_ - 1, ")"));
        }
    }

    void validate() const {
        constexpr const char* function = "ml::Dataset";
        if (features_ != 0 && rows_ > std::numeric_limits<std::size_t>::max() / features_) {
            throw ShapeError(cloak::detail::message(function, ": ", rows_, " rows x ", features_,
                                                    " features overflow the size type"));
        }
        if (values_.size() != rows_ * features_) {
            throw ShapeError(cloak::detail::message(function, ": ", values_.size(), " values for ",
                                                    rows_, " rows x ", features_, " features (",
                                                    rows_ * features_,
                                                    " expected); pass rows * features values, "
                                                    "row-major"));
        }
        if (labels_.size() != rows_) {
            throw ShapeError(cloak::detail::message(function, ": ", labels_.size(), " labels for ",
                                                    rows_, " rows; pass one label per row"));
        }
        if (!feature_names_.empty() && feature_names_.size() != features_) {
            throw ShapeError(
                cloak::detail::message(function, ": ", feature_names_.size(), " feature names for ",
                                       features_, " features; pass one name per feature or none"));
        }
        for (std::size_t k = 0; k < values_.size(); ++k) {
            if (!std::isfinite(values_[k])) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": feature ", k % features_, " of sample ", k / features_, " is ",
                    values_[k], "; every value must be finite (drop or impute the sample)"));
            }
        }
        for (std::size_t i = 0; i < rows_; ++i) {
            const double label = labels_[i];
            if (!std::isfinite(label)) {
                throw InvalidArgumentError(
                    cloak::detail::message(function, ": the label of sample ", i, " is ", label,
                                           "; every label must be finite"));
            }
            if (task_ == Task::classification && label != 0 && label != 1) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": the label of sample ", i, " is ", label,
                    "; classification labels are 0 or 1 (map -1 to 0), or use "
                    "Task::regression"));
            }
        }
    }

    static Dataset parse_impl(std::istream& in, const LoadOptions& options, std::string_view source,
                              const char* function);

    std::size_t rows_ = 0;
    std::size_t features_ = 0;
    std::vector<double> values_;
    std::vector<double> labels_;
    std::vector<std::string> feature_names_;
    std::string label_name_;
    Task task_ = default_task;
};

namespace detail {

/// Where a cell sits, for error messages.
struct Where {
    const char* function;
    std::string_view source;
    std::size_t line;
};

inline std::string where_text(const Where& where, std::size_t column,
                              const std::vector<std::string>& header) {
    std::string text = cloak::detail::message(where.function, ": ", where.source, ", line ",
                                              where.line, ", column ", column);
    if (column >= 1 && column <= header.size()) {
        text += cloak::detail::message(" ('", header[column - 1], "')");
    }
    return text;
}

inline bool is_blank(std::string_view line) {
    return line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
}

inline std::string_view trim(std::string_view text) {
    const std::size_t first = text.find_first_not_of(" \t\r\f\v");
    if (first == std::string_view::npos) {
        return {};
    }
    const std::size_t last = text.find_last_not_of(" \t\r\f\v");
    return text.substr(first, last - first + 1);
}

inline char detect_delimiter(std::string_view line) {
    for (const char candidate : {'\t', ',', ';'}) {
        if (line.find(candidate) != std::string_view::npos) {
            return candidate;
        }
    }
    return ' ';
}

inline std::string delimiter_name(char delimiter) {
    switch (delimiter) {
        case '\t':
            return "tab";
        case ',':
            return "comma";
        case ';':
            return "semicolon";
        case ' ':
            return "whitespace";
        default:
            return cloak::detail::message('\'', delimiter, '\'');
    }
}

/// The cells of one line, trimmed; fields in double quotes are unquoted.
inline std::vector<std::string> split_line(std::string_view line, char delimiter,
                                           const Where& where) {
    std::vector<std::string> cells;
    if (delimiter == ' ') {
        std::size_t pos = 0;
        while (true) {
            pos = line.find_first_not_of(" \t", pos);
            if (pos == std::string_view::npos) {
                break;
            }
            const std::size_t end = std::min(line.find_first_of(" \t", pos), line.size());
            cells.emplace_back(line.substr(pos, end - pos));
            pos = end;
        }
        return cells;
    }
    std::size_t pos = 0;
    while (true) {
        // Skip leading blanks (not the delimiter itself: a tab may be the delimiter).
        while (pos < line.size() && line[pos] != delimiter &&
               (line[pos] == ' ' || line[pos] == '\t')) {
            ++pos;
        }
        if (pos < line.size() && line[pos] == '"') {
            std::string cell;
            std::size_t i = pos + 1;
            bool closed = false;
            while (i < line.size()) {
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        cell += '"';
                        i += 2;
                        continue;
                    }
                    closed = true;
                    ++i;
                    break;
                }
                cell += line[i++];
            }
            if (!closed) {
                throw InvalidArgumentError(cloak::detail::message(
                    where_text(where, cells.size() + 1, {}),
                    ": a quoted field is not closed on its line; close the quote (fields may "
                    "not span lines)"));
            }
            const std::size_t end = std::min(line.find(delimiter, i), line.size());
            if (!trim(line.substr(i, end - i)).empty()) {
                throw InvalidArgumentError(cloak::detail::message(
                    where_text(where, cells.size() + 1, {}),
                    ": text after the closing quote of a quoted field; quote the whole field"));
            }
            cells.push_back(std::move(cell));
            pos = end;
        } else {
            const std::size_t end = std::min(line.find(delimiter, pos), line.size());
            cells.emplace_back(trim(line.substr(pos, end - pos)));
            pos = end;
        }
        if (pos >= line.size()) {
            break;
        }
        ++pos;  // past the delimiter; a delimiter at the end leaves one empty cell
        if (pos == line.size()) {
            cells.emplace_back();
            break;
        }
    }
    return cells;
}

enum class NumberStatus { ok, not_a_number, not_finite };

/// Parses a whole cell as a double, locale-independently (std::from_chars),
/// accepting a leading '+'. Underflow gives the nearest representable value.
inline NumberStatus parse_number(std::string_view text, double& out) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
            return NumberStatus::not_a_number;
        }
    }
    if (text.empty()) {
        return NumberStatus::not_a_number;
    }
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out);
    if (ptr != end || ec == std::errc::invalid_argument) {
        return NumberStatus::not_a_number;
    }
    if (ec == std::errc::result_out_of_range) {
        // Overflow is an error; underflow rounds to a subnormal or zero (strtod's result).
        const std::string copy(text);
        out = std::strtod(copy.c_str(), nullptr);
    }
    return std::isfinite(out) ? NumberStatus::ok : NumberStatus::not_finite;
}

/// Resolves a column reference to a 0-based index.
inline std::size_t resolve_column(const Column& column, std::size_t columns,
                                  const std::vector<std::string>& header, std::size_t header_line,
                                  const char* role, const char* function, std::string_view source) {
    if (column.by_name()) {
        if (header.empty()) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": ", source, ": the ", role, " column ", column,
                " is given by name, but the file has no header row; pass it by index (e.g. "
                "{.label = -1} for the last column) or set .header = true"));
        }
        std::size_t found = columns;
        for (std::size_t c = 0; c < header.size(); ++c) {
            if (header[c] == column.name()) {
                if (found != columns) {
                    throw InvalidArgumentError(cloak::detail::message(
                        function, ": ", source, ": the ", role, " column name ", column,
                        " appears twice in the header (columns ", found + 1, " and ", c + 1,
                        "); rename one or pass the column by index"));
                }
                found = c;
            }
        }
        if (found == columns) {
            std::string names;
            const std::size_t shown = std::min<std::size_t>(header.size(), 20);
            for (std::size_t c = 0; c < shown; ++c) {
                names += (c == 0 ? "'" : ", '") + header[c] + "'";
            }
            if (shown < header.size()) {
                names += cloak::detail::message(", ... (", header.size(), " columns)");
            }
            throw InvalidArgumentError(cloak::detail::message(
                function, ": ", source, ", line ", header_line, " (the header): no column named ",
                column, " for the ", role, "; the header names ", names,
                "; names are case-sensitive and must match exactly"));
        }
        return found;
    }
    const auto count = static_cast<long long>(columns);
    const long long index = column.index() < 0 ? count + column.index() : column.index();
    if (index < 0 || index >= count) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": ", source, ": the ", role, " column ", column,
                                   " is out of range for ", columns, " columns; pass 0 to ",
                                   columns - 1, ", or -1 to -", columns, " counting from the end"));
    }
    return static_cast<std::size_t>(index);
}

}  // namespace detail

inline Dataset Dataset::parse_impl(std::istream& in, const LoadOptions& options,
                                   std::string_view source, const char* function) {
    const Task task = options.task.value_or(default_task);
    if (options.delimiter && *options.delimiter != ',' && *options.delimiter != '\t' &&
        *options.delimiter != ';' && *options.delimiter != ' ' && *options.delimiter != '|') {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": delimiter '", *options.delimiter,
            "' is not supported; use ',', '\\t', ';', '|' or ' ' (runs of whitespace), or leave "
            "it unset to detect it"));
    }
    std::string line;
    std::size_t line_number = 0;
    char delimiter = 0;
    std::size_t columns = 0;
    std::size_t first_line = 0;  // the line that fixed the column count
    std::vector<std::string> header;
    std::vector<bool> skip;  // per column: ignored or the label
    std::size_t label_column = 0;
    std::vector<double> values;
    std::vector<double> labels;
    std::size_t rows = 0;
    std::size_t line_of_zero = 0;       // classification: first line with label 0
    std::size_t line_of_minus_one = 0;  // ... and with label -1
    while (std::getline(in, line)) {
        ++line_number;
        if (line_number == 1 && line.starts_with("\xEF\xBB\xBF")) {
            line.erase(0, 3);  // UTF-8 byte-order mark
        }
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (detail::is_blank(line)) {
            continue;
        }
        if (delimiter == 0) {
            delimiter = options.delimiter.value_or(detail::detect_delimiter(line));
        }
        const detail::Where where{function, source, line_number};
        std::vector<std::string> cells = detail::split_line(line, delimiter, where);

        if (columns == 0) {
            columns = cells.size();
            first_line = line_number;
            if (columns < 2) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": ", source, ", line ", line_number, ": found 1 column with the ",
                    detail::delimiter_name(delimiter),
                    " delimiter; a dataset needs at least one feature column and a label "
                    "column (set .delimiter if detection chose the wrong one)"));
            }
            // Columns ignored by index are known now; by name only once the header is.
            std::vector<bool> ignored_by_index(columns, false);
            for (const Column& column : options.ignore) {
                if (!column.by_name()) {
                    ignored_by_index[detail::resolve_column(column, columns, {}, 0, "ignored",
                                                            function, source)] = true;
                }
            }
            bool is_header = false;
            if (options.header) {
                is_header = *options.header;
            } else {
                for (std::size_t c = 0; c < columns; ++c) {
                    double value = 0;
                    if (!ignored_by_index[c] && detail::parse_number(cells[c], value) ==
                                                    detail::NumberStatus::not_a_number) {
                        is_header = true;
                    }
                }
            }
            if (is_header) {
                header = cells;
            }
            label_column = detail::resolve_column(options.label.value_or(Column(-1)), columns,
                                                  header, first_line, "label", function, source);
            skip.assign(columns, false);
            for (const Column& column : options.ignore) {
                const std::size_t c = detail::resolve_column(column, columns, header, first_line,
                                                             "ignored", function, source);
                if (c == label_column) {
                    throw InvalidArgumentError(cloak::detail::message(
                        function, ": ", source, ": column ", c + 1,
                        " is both the label and ignored; remove it from .ignore or choose "
                        "another label"));
                }
                skip[c] = true;
            }
            skip[label_column] = true;
            if (std::count(skip.begin(), skip.end(), false) == 0) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": ", source, ": no feature column is left after the label and ",
                    options.ignore.size(), " ignored columns; ignore fewer columns"));
            }
            if (is_header) {
                continue;
            }
        }

        if (cells.size() != columns) {
            // The first column that is missing, or the first extra one.
            const std::size_t column = std::min(cells.size(), columns) + 1;
            throw InvalidArgumentError(cloak::detail::message(
                detail::where_text(where, column, header),
                cells.size() < columns ? ": missing" : ": unexpected extra column",
                "; this line has ", cells.size(), " columns but line ", first_line, " has ",
                columns, " (", detail::delimiter_name(delimiter),
                "-separated); every row needs the same columns (a missing value, an extra "
                "delimiter, or a field with the delimiter not in double quotes?)"));
        }
        for (std::size_t c = 0; c < columns; ++c) {
            if (skip[c] && c != label_column) {
                continue;
            }
            const std::string& cell = cells[c];
            double value = 0;
            const detail::NumberStatus status = detail::parse_number(cell, value);
            if (cell.empty()) {
                throw InvalidArgumentError(cloak::detail::message(
                    detail::where_text(where, c + 1, header),
                    ": empty cell; a missing value cannot be trained on: fill it in (impute) "
                    "or drop the row"));
            }
            if (status == detail::NumberStatus::not_a_number) {
                throw InvalidArgumentError(cloak::detail::message(
                    detail::where_text(where, c + 1, header), ": \"", cell,
                    "\" is not a number; write a decimal number (a '.' decimal point), or "
                    "drop the column with .ignore",
                    rows == 0 && header.empty() && !options.header
                        ? " (or set .header = true if this line names the columns)"
                        : ""));
            }
            if (status == detail::NumberStatus::not_finite) {
                throw InvalidArgumentError(cloak::detail::message(
                    detail::where_text(where, c + 1, header), ": \"", cell,
                    "\" is not a finite number (NaN, infinity, or beyond the double range); "
                    "replace or drop the value"));
            }
            if (c != label_column) {
                values.push_back(value);
                continue;
            }
            if (task == Task::classification) {
                if (value != 0 && value != 1 && value != -1) {
                    throw InvalidArgumentError(cloak::detail::message(
                        detail::where_text(where, c + 1, header), ": label ", cell,
                        " is not a class; classification labels are 0/1 or -1/+1 (pass "
                        ".task = ml::Task::regression for real-valued labels, or choose "
                        "another .label column)"));
                }
                if (value == 0 && line_of_zero == 0) {
                    line_of_zero = line_number;
                }
                if (value == -1 && line_of_minus_one == 0) {
                    line_of_minus_one = line_number;
                }
                if (line_of_zero != 0 && line_of_minus_one != 0) {
                    throw InvalidArgumentError(cloak::detail::message(
                        detail::where_text(where, c + 1, header), ": labels mix 0 (first on line ",
                        line_of_zero, ") and -1 (first on line ", line_of_minus_one,
                        "); classification labels are either 0/1 or -1/+1, not both"));
                }
                value = value == -1 ? 0 : value;
            }
            labels.push_back(value);
        }
        ++rows;
    }
    if (in.bad()) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": ", source, ": read error after line ", line_number,
                                   "; check that the file is readable and not truncated"));
    }
    if (columns == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": ", source, " is empty (",
                                   line_number == 0 ? "no lines" : "only blank lines",
                                   "); pass a CSV or TSV file with one sample per line"));
    }
    if (rows == 0) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": ", source, " has a header (line ", first_line,
            ") but no data rows; add samples, or set .header = false if line ", first_line,
            " is data"));
    }
    std::vector<std::string> names;
    std::string label_name;
    if (!header.empty()) {
        for (std::size_t c = 0; c < columns; ++c) {
            if (!skip[c]) {
                names.push_back(header[c]);
            }
        }
        label_name = header[label_column];
    }
    const std::size_t features = values.size() / rows;
    return Dataset(rows, features, std::move(values), std::move(labels), task, std::move(names),
                   std::move(label_name));
}

// ---------------------------------------------------------------------------
// Portable seeded randomness for data (never for secrets or privacy noise).

namespace detail {

/// Uniform in [0, 1) with 53 random bits.
inline double uniform01(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1p-53;
}

/// Uniform in [-1, 1).
inline double uniform_symmetric(std::mt19937_64& rng) {
    return 2 * uniform01(rng) - 1;
}

/// Standard normal by Box-Muller (Box and Muller 1958); u1 in (0, 1] so log is finite.
inline double standard_normal(std::mt19937_64& rng) {
    const double u1 = static_cast<double>((rng() >> 11) + 1) * 0x1p-53;
    const double u2 = uniform01(rng);
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

/// Unbiased integer in [0, bound), bound >= 1 (threshold rejection).
inline std::size_t uniform_index(std::mt19937_64& rng, std::size_t bound) {
    const auto b = static_cast<std::uint64_t>(bound);
    const std::uint64_t threshold = (0 - b) % b;  // 2^64 mod bound
    std::uint64_t x = 0;
    do {
        x = rng();
    } while (x < threshold);
    return static_cast<std::size_t>(x % b);
}

/// Fisher-Yates shuffle (Durstenfeld's in-place form).
inline void shuffle(std::span<std::size_t> items, std::mt19937_64& rng) {
    for (std::size_t i = items.size(); i > 1; --i) {
        std::swap(items[i - 1], items[uniform_index(rng, i)]);
    }
}

inline std::vector<std::size_t> iota(std::size_t n) {
    std::vector<std::size_t> indices(n);
    for (std::size_t i = 0; i < n; ++i) {
        indices[i] = i;
    }
    return indices;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Normalization

/// How a Normalizer maps each feature.
enum class Scaling {
    /// Division by the largest |x_j| of the fitted data (default; Kim et al.
    /// 2018's normalization): values in [-1, 1], 0 stays 0, 0/1 features stay
    /// 0/1. With Kim et al.'s learning rate and degree-3 sigmoid it keeps every
    /// logit of the four iDASH-era medical datasets inside the polynomial's
    /// interval [-8, 8] (at most 5.1 over 7 iterations), where min_max reaches
    /// 13 on edin after one step and the polynomial then diverges.
    max_abs,
    /// The fitted minimum to -1 and maximum to +1: centred and bounded.
    min_max,
    /// Zero mean and unit (population) standard deviation: unbounded.
    standardize,
};

inline constexpr Scaling default_scaling = Scaling::max_abs;
/// Whether transformed values are clamped to [-1, 1] by default.
inline constexpr bool default_clip = false;

/// Options of Normalizer::fit.
struct NormalizerOptions {
    /// max_abs (default), min_max or standardize.
    std::optional<Scaling> scaling = std::nullopt;
    /// Clamp transformed values to [-1, 1] (max_abs and min_max only; default
    /// false). With clipping, inputs beyond the fitted range stay bounded.
    std::optional<bool> clip = std::nullopt;
};

/// Per-feature affine statistics: z_j = scale_j * x_j + offset_j.
///
/// A regular, copyable, printable value type that travels with a trained
/// model: a model trained on normalized features predicts on raw inputs by
/// normalizing them with the same statistics (transform_row), or by mapping its
/// weights back to raw features once (unnormalize_weights, linear models).
/// A feature that is constant in the fitted data gets scale 1 and offset
/// -value under min_max or standardize (so it becomes 0 there), and scale 1
/// under max_abs when it is 0 everywhere; the map always stays invertible.
class Normalizer {
  public:
    /// The identity on 0 features.
    Normalizer() = default;

    /// Statistics given explicitly (to restore a stored model).
    /// @throws ShapeError when scale and offset differ in size.
    /// @throws InvalidArgumentError for a zero or non-finite scale, a non-finite
    ///         offset, or clip with Scaling::standardize.
    Normalizer(Scaling scaling, std::vector<double> scale, std::vector<double> offset,
               bool clip = default_clip)
        : scaling_(scaling), scale_(std::move(scale)), offset_(std::move(offset)), clip_(clip) {
        constexpr const char* function = "ml::Normalizer";
        if (scale_.size() != offset_.size()) {
            throw ShapeError(cloak::detail::message(function, ": ", scale_.size(), " scales and ",
                                                    offset_.size(),
                                                    " offsets; pass one of each per feature"));
        }
        for (std::size_t j = 0; j < scale_.size(); ++j) {
            if (!std::isfinite(scale_[j]) || scale_[j] == 0 || !std::isfinite(offset_[j])) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": feature ", j, " has scale ", scale_[j], " and offset ", offset_[j],
                    "; the scale must be finite and nonzero, the offset finite"));
            }
        }
        check_clip(function, scaling_, clip_);
    }

    /// Fits per-feature statistics on `data`.
    /// @throws InvalidArgumentError for an empty dataset, or clip with standardize.
    [[nodiscard]] static Normalizer fit(const Dataset& data,
                                        const NormalizerOptions& options = {}) {
        constexpr const char* function = "ml::Normalizer::fit";
        const Scaling scaling = options.scaling.value_or(default_scaling);
        const bool clip = options.clip.value_or(default_clip);
        check_clip(function, scaling, clip);
        if (data.rows() == 0) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": the dataset has no rows; fit on the training samples"));
        }
        const std::size_t n = data.rows();
        const std::size_t d = data.features();
        const std::span<const double> v = data.values();
        std::vector<double> scale(d);
        std::vector<double> offset(d);
        for (std::size_t j = 0; j < d; ++j) {
            if (scaling == Scaling::min_max) {
                double lo = v[j];
                double hi = v[j];
                for (std::size_t i = 1; i < n; ++i) {
                    lo = std::min(lo, v[i * d + j]);
                    hi = std::max(hi, v[i * d + j]);
                }
                set_min_max(j, lo, hi, scale, offset);
            } else if (scaling == Scaling::max_abs) {
                double largest = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    largest = std::max(largest, std::abs(v[i * d + j]));
                }
                scale[j] = largest > 0 ? 1 / largest : 1;
                offset[j] = 0;
            } else {
                double mean = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    mean += v[i * d + j];
                }
                mean /= static_cast<double>(n);
                double variance = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    const double diff = v[i * d + j] - mean;
                    variance += diff * diff;
                }
                const double sd = std::sqrt(variance / static_cast<double>(n));
                scale[j] = sd > 0 ? 1 / sd : 1;
                offset[j] = -mean * scale[j];
            }
        }
        return Normalizer(scaling, std::move(scale), std::move(offset), clip);
    }

    /// Scaling from bounds known in advance (public domain knowledge, such as
    /// "age in [0, 120]"), so that no statistic of private data is released
    /// with the model: the route to take under differential privacy. max_abs
    /// divides by max(|lower|, |upper|); min_max maps [lower, upper] to [-1, 1].
    /// Clipping is on by default here, so inputs outside the bounds stay in [-1, 1].
    /// @throws ShapeError when the bound vectors differ in size.
    /// @throws InvalidArgumentError for non-finite bounds, lower > upper, or
    ///         Scaling::standardize (it has no bounds).
    [[nodiscard]] static Normalizer from_bounds(std::span<const double> lower,
                                                std::span<const double> upper,
                                                Scaling scaling = default_scaling,
                                                bool clip = true) {
        constexpr const char* function = "ml::Normalizer::from_bounds";
        if (scaling == Scaling::standardize) {
            throw InvalidArgumentError(cloak::detail::message(
                function,
                ": Scaling::standardize needs a mean and a deviation, not bounds; "
                "use Scaling::max_abs or Scaling::min_max"));
        }
        if (lower.size() != upper.size()) {
            throw ShapeError(cloak::detail::message(function, ": ", lower.size(),
                                                    " lower bounds and ", upper.size(),
                                                    " upper bounds; pass one pair per feature"));
        }
        std::vector<double> scale(lower.size());
        std::vector<double> offset(lower.size());
        for (std::size_t j = 0; j < lower.size(); ++j) {
            if (!std::isfinite(lower[j]) || !std::isfinite(upper[j]) || lower[j] > upper[j]) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": feature ", j, " has bounds [", lower[j], ", ", upper[j],
                    "]; pass finite bounds with lower <= upper"));
            }
            if (scaling == Scaling::min_max) {
                set_min_max(j, lower[j], upper[j], scale, offset);
            } else {
                const double largest = std::max(std::abs(lower[j]), std::abs(upper[j]));
                scale[j] = largest > 0 ? 1 / largest : 1;
                offset[j] = 0;
            }
        }
        return Normalizer(scaling, std::move(scale), std::move(offset), clip);
    }

    /// The identity map on `features` features.
    [[nodiscard]] static Normalizer identity(std::size_t features) {
        return Normalizer(Scaling::max_abs, std::vector<double>(features, 1.0),
                          std::vector<double>(features, 0.0), false);
    }

    [[nodiscard]] std::size_t features() const noexcept { return scale_.size(); }
    [[nodiscard]] Scaling scaling() const noexcept { return scaling_; }
    [[nodiscard]] bool clips() const noexcept { return clip_; }
    /// Per feature: z_j = scale()[j] * x_j + offset()[j].
    [[nodiscard]] std::span<const double> scale() const noexcept { return scale_; }
    [[nodiscard]] std::span<const double> offset() const noexcept { return offset_; }

    /// Normalizes one sample in place.
    /// @throws ShapeError when row.size() != features().
    void transform_row_inplace(std::span<double> row) const {
        check_size("ml::Normalizer::transform_row", row.size());
        const bool bounded = scaling_ != Scaling::standardize;
        for (std::size_t j = 0; j < row.size(); ++j) {
            double z = scale_[j] * row[j] + offset_[j];
            // The fitted extremes map to exactly -1 and 1: a rounding overshoot of
            // the affine map (1 + 2^-52) is snapped back, so bounded data stays in
            // [-1, 1] for the checks that encryption and the DP bound make.
            if (clip_ || (bounded && std::abs(z) > 1 && std::abs(z) <= 1 + 1e-12)) {
                z = std::clamp(z, -1.0, 1.0);
            }
            row[j] = z;
        }
    }

    /// One sample, normalized.
    /// @throws ShapeError when row.size() != features().
    [[nodiscard]] std::vector<double> transform_row(std::span<const double> row) const {
        std::vector<double> out(row.begin(), row.end());
        transform_row_inplace(out);
        return out;
    }

    /// Every sample normalized; labels, names and task unchanged.
    /// @throws ShapeError when data.features() != features().
    [[nodiscard]] Dataset transform(const Dataset& data) const {
        check_size("ml::Normalizer::transform", data.features());
        std::vector<double> values(data.values().begin(), data.values().end());
        for (std::size_t i = 0; i < data.rows(); ++i) {
            transform_row_inplace(std::span<double>(values).subspan(i * features(), features()));
        }
        return data.with_values(std::move(values));
    }

    /// Raw features from normalized ones: x_j = (z_j - offset_j) / scale_j
    /// (clipped values come back as the nearest bound of the fitted range).
    /// @throws ShapeError when row.size() != features().
    [[nodiscard]] std::vector<double> inverse_row(std::span<const double> row) const {
        check_size("ml::Normalizer::inverse_row", row.size());
        std::vector<double> out(row.size());
        for (std::size_t j = 0; j < row.size(); ++j) {
            out[j] = (row[j] - offset_[j]) / scale_[j];
        }
        return out;
    }

    /// Maps the weights of a linear model on normalized features, bias first
    /// ({b, w_1, ..., w_d}: b + sum w_j z_j), to the same model on raw features:
    /// w'_j = w_j scale_j and b' = b + sum w_j offset_j. Exact without clipping;
    /// with clipping, exact for inputs inside the fitted range.
    /// @throws ShapeError when weights.size() != features() + 1.
    [[nodiscard]] std::vector<double> unnormalize_weights(std::span<const double> weights) const {
        if (weights.size() != features() + 1) {
            throw ShapeError(cloak::detail::message(
                "ml::Normalizer::unnormalize_weights: ", weights.size(), " weights for ",
                features(), " features; pass the bias first, then one weight per feature (",
                features() + 1, " in all)"));
        }
        std::vector<double> out(weights.size());
        out[0] = weights[0];
        for (std::size_t j = 0; j < features(); ++j) {
            out[j + 1] = weights[j + 1] * scale_[j];
            out[0] += weights[j + 1] * offset_[j];
        }
        return out;
    }

    /// The same, with the bias given separately; returns bias first.
    /// @throws ShapeError when weights.size() != features().
    [[nodiscard]] std::vector<double> unnormalize_weights(std::span<const double> weights,
                                                          double bias) const {
        std::vector<double> all{bias};
        all.insert(all.end(), weights.begin(), weights.end());
        return unnormalize_weights(std::span<const double>(all));
    }

    friend bool operator==(const Normalizer&, const Normalizer&) = default;

    /// "ml::Normalizer(min_max, 2 features: z0 = 0.5 x0 - 1, z1 = ...)"
    friend std::ostream& operator<<(std::ostream& out, const Normalizer& normalizer) {
        std::ostringstream text;
        text << std::setprecision(6) << "ml::Normalizer(" << scaling_name(normalizer.scaling_)
             << (normalizer.clip_ ? ", clipped to [-1, 1]" : "") << ", " << normalizer.features()
             << " features";
        for (std::size_t j = 0; j < normalizer.features(); ++j) {
            text << (j == 0 ? ": " : ", ") << 'z' << j << " = " << normalizer.scale_[j] << " x" << j
                 << (normalizer.offset_[j] < 0 ? " - " : " + ") << std::abs(normalizer.offset_[j]);
        }
        text << ')';
        return out << text.str();
    }

  private:
    static const char* scaling_name(Scaling scaling) {
        switch (scaling) {
            case Scaling::min_max:
                return "min_max";
            case Scaling::standardize:
                return "standardize";
            case Scaling::max_abs:
                return "max_abs";
        }
        return "unknown";
    }

    static void check_clip(const char* function, Scaling scaling, bool clip) {
        if (clip && scaling == Scaling::standardize) {
            throw InvalidArgumentError(cloak::detail::message(
                function,
                ": clip = true needs Scaling::max_abs or Scaling::min_max (z-scores have no "
                "[-1, 1] range); choose one of those or turn clipping off"));
        }
    }

    static void set_min_max(std::size_t j, double lo, double hi, std::vector<double>& scale,
                            std::vector<double>& offset) {
        if (hi > lo) {
            scale[j] = 2 / (hi - lo);
            offset[j] = -(hi + lo) / (hi - lo);
        } else {  // constant: becomes 0, invertible
            scale[j] = 1;
            offset[j] = -lo;
        }
    }

    void check_size(const char* function, std::size_t size) const {
        if (size != features()) {
            throw ShapeError(cloak::detail::message(
                function, ": ", size, " features, but the normalizer was fitted on ", features(),
                "; pass samples with the training features"));
        }
    }

    Scaling scaling_ = default_scaling;
    std::vector<double> scale_;
    std::vector<double> offset_;
    bool clip_ = default_clip;
};

// ---------------------------------------------------------------------------
// Splits

/// Indices of the training and test samples, each in increasing order.
struct Partition {
    std::vector<std::size_t> train;
    std::vector<std::size_t> test;
};

/// A training set and a test set.
struct TrainTest {
    Dataset train;
    Dataset test;
};

/// Options of train_test_indices, train_test_split and k_fold.
struct SplitOptions {
    /// Keep each class's share in every part (default: true for classification
    /// datasets; ignored for regression).
    std::optional<bool> stratify = std::nullopt;
};

namespace detail {

inline void check_split(const char* function, const Dataset& data) {
    if (data.rows() < 2) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": the dataset has ", data.rows(),
            " rows; splitting needs at least 2 (one to train, one to test)"));
    }
}

/// Groups of indices to split separately: one per class when stratifying, else one.
inline std::vector<std::vector<std::size_t>> strata(const Dataset& data,
                                                    const SplitOptions& options) {
    const bool stratify = options.stratify.value_or(true) && data.task() == Task::classification;
    if (!stratify) {
        return {iota(data.rows())};
    }
    std::vector<std::vector<std::size_t>> groups(2);
    for (std::size_t i = 0; i < data.rows(); ++i) {
        groups[data.labels()[i] == 1 ? 1 : 0].push_back(i);
    }
    return groups;
}

}  // namespace detail

/// A seeded split: round(test_fraction * n) test samples (at least 1, at most
/// n - 1), the rest for training. Stratified (the default for classification):
/// the test quota is shared among the classes in proportion to their sizes
/// (largest remainders), and each class's test samples are the first of a
/// seeded shuffle of that class.
/// @throws InvalidArgumentError for test_fraction outside (0, 1) or fewer than 2 rows.
[[nodiscard]] inline Partition train_test_indices(const Dataset& data, double test_fraction,
                                                  std::uint64_t seed,
                                                  const SplitOptions& options = {}) {
    constexpr const char* function = "ml::train_test_split";
    if (!(test_fraction > 0 && test_fraction < 1)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": test_fraction = ", test_fraction,
            " is outside (0, 1); pass the share of samples to hold out, such as 0.2"));
    }
    detail::check_split(function, data);
    const std::size_t n = data.rows();
    const auto target =
        static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
    const std::size_t test_size = std::clamp<std::size_t>(target, 1, n - 1);
    std::vector<std::vector<std::size_t>> groups = detail::strata(data, options);
    // Largest-remainder quotas: sum exactly test_size.
    std::vector<std::size_t> quota(groups.size());
    std::vector<std::pair<double, std::size_t>> remainders;
    std::size_t assigned = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        const double exact = static_cast<double>(test_size) *
                             static_cast<double>(groups[g].size()) / static_cast<double>(n);
        quota[g] = static_cast<std::size_t>(std::floor(exact));
        assigned += quota[g];
        remainders.emplace_back(exact - static_cast<double>(quota[g]), g);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t r = 0; assigned < test_size; ++r, ++assigned) {
        ++quota[remainders[r % remainders.size()].second];
    }
    std::mt19937_64 rng(seed);
    Partition partition;
    for (std::size_t g = 0; g < groups.size(); ++g) {
        detail::shuffle(groups[g], rng);
        const std::size_t take = std::min(quota[g], groups[g].size());
        partition.test.insert(partition.test.end(), groups[g].begin(),
                              groups[g].begin() + static_cast<std::ptrdiff_t>(take));
        partition.train.insert(partition.train.end(),
                               groups[g].begin() + static_cast<std::ptrdiff_t>(take),
                               groups[g].end());
    }
    std::sort(partition.train.begin(), partition.train.end());
    std::sort(partition.test.begin(), partition.test.end());
    return partition;
}

/// The datasets of a partition.
/// @throws InvalidArgumentError for an index >= data.rows().
[[nodiscard]] inline TrainTest split(const Dataset& data, const Partition& partition) {
    return {data.subset(partition.train), data.subset(partition.test)};
}

/// train_test_indices, as datasets.
/// @throws InvalidArgumentError as train_test_indices.
[[nodiscard]] inline TrainTest train_test_split(const Dataset& data, double test_fraction,
                                                std::uint64_t seed,
                                                const SplitOptions& options = {}) {
    return split(data, train_test_indices(data, test_fraction, seed, options));
}

/// k seeded folds: fold f tests on its samples and trains on all others. The
/// test sets are disjoint, cover every sample once, and differ in size by at
/// most one. Stratified (default for classification): each class is shuffled
/// and dealt round-robin, continuing the count from one class to the next, so
/// every fold holds each class's share to within one sample.
/// @throws InvalidArgumentError for k < 2 or k > data.rows().
[[nodiscard]] inline std::vector<Partition> k_fold(const Dataset& data, std::size_t k,
                                                   std::uint64_t seed,
                                                   const SplitOptions& options = {}) {
    constexpr const char* function = "ml::k_fold";
    detail::check_split(function, data);
    if (k < 2 || k > data.rows()) {
        throw InvalidArgumentError(cloak::detail::message(function, ": k = ", k, " folds for ",
                                                          data.rows(), " rows; pass k in [2, ",
                                                          data.rows(), "] (5 or 10 are usual)"));
    }
    std::vector<std::vector<std::size_t>> groups = detail::strata(data, options);
    std::mt19937_64 rng(seed);
    std::vector<std::size_t> fold_of(data.rows());
    std::size_t position = 0;
    for (auto& group : groups) {
        detail::shuffle(group, rng);
        for (const std::size_t i : group) {
            fold_of[i] = position++ % k;
        }
    }
    std::vector<Partition> folds(k);
    for (std::size_t i = 0; i < data.rows(); ++i) {
        for (std::size_t f = 0; f < k; ++f) {
            (fold_of[i] == f ? folds[f].test : folds[f].train).push_back(i);
        }
    }
    return folds;
}

// ---------------------------------------------------------------------------
// Synthetic data

/// How synthetic features are drawn.
enum class FeatureDistribution {
    /// Uniform in [-1, 1] (default): already normalized.
    uniform,
    /// Standard normal: unbounded, normalize before training.
    gaussian,
};

/// The shape of the iDASH 2017 task (Kim et al. 2018): 1579 samples, 18 features.
inline constexpr std::size_t idash_rows = 1579;
inline constexpr std::size_t idash_features = 18;
inline constexpr FeatureDistribution default_feature_distribution = FeatureDistribution::uniform;
/// Default standard deviation of the true logit w . x of synthetic_logistic
/// (bias excluded): labels agree with the true model's prediction about 91% of
/// the time (1 - 2 ln 2 / (signal sqrt(2 pi)) for a Gaussian logit).
inline constexpr double default_logistic_signal = 6;
/// Default standard deviation of w . x in synthetic_linear (bias excluded).
inline constexpr double default_linear_signal = 1;
/// Default standard deviation of synthetic_linear's label noise.
inline constexpr double default_linear_noise = 0.1;

/// Options of synthetic_logistic and synthetic_linear.
struct SyntheticOptions {
    /// Uniform in [-1, 1] (default) or standard normal features.
    std::optional<FeatureDistribution> distribution = std::nullopt;
    /// The true weights, bias first (features + 1 values). Default: drawn from
    /// the seed: a standard normal direction scaled to `signal`, bias N(0, 0.5^2).
    std::optional<std::vector<double>> weights = std::nullopt;
    /// Standard deviation of w . x over the feature distribution, for drawn
    /// weights (default_logistic_signal or default_linear_signal).
    std::optional<double> signal = std::nullopt;
    /// synthetic_linear only: standard deviation of the Gaussian label noise
    /// (default_linear_noise).
    std::optional<double> noise = std::nullopt;
};

/// A generated dataset and the weights (bias first) that generated it.
struct SyntheticDataset {
    Dataset data;
    std::vector<double> weights;
};

namespace detail {

inline SyntheticDataset synthetic(const char* function, bool logistic, std::size_t rows,
                                  std::size_t features, std::uint64_t seed,
                                  const SyntheticOptions& options) {
    if (rows == 0 || features == 0) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": ", rows, " rows x ", features,
            " features; pass at least one row and one feature (the iDASH shape is ml::idash_rows "
            "x ml::idash_features)"));
    }
    const double signal =
        options.signal.value_or(logistic ? default_logistic_signal : default_linear_signal);
    if (!(signal >= 0) || !std::isfinite(signal)) {
        throw InvalidArgumentError(cloak::detail::message(function, ": signal = ", signal,
                                                          " must be finite and non-negative"));
    }
    if (logistic && options.noise) {
        throw InvalidArgumentError(cloak::detail::message(
            function,
            ": .noise applies to synthetic_linear; logistic labels are already random "
            "(Bernoulli draws of the model's probability): lower .signal for noisier labels"));
    }
    const double noise = options.noise.value_or(default_linear_noise);
    if (!(noise >= 0) || !std::isfinite(noise)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": noise = ", noise, " must be a finite, non-negative standard deviation"));
    }
    const FeatureDistribution distribution =
        options.distribution.value_or(default_feature_distribution);
    std::mt19937_64 rng(seed);
    std::vector<double> weights;
    if (options.weights) {
        weights = *options.weights;
        if (weights.size() != features + 1) {
            throw ShapeError(cloak::detail::message(
                function, ": ", weights.size(), " weights for ", features,
                " features; pass the bias first, then one weight per feature (", features + 1,
                " in all)"));
        }
        for (const double w : weights) {
            if (!std::isfinite(w)) {
                throw InvalidArgumentError(
                    cloak::detail::message(function, ": weight ", w, " is not finite"));
            }
        }
    } else {
        weights.resize(features + 1);
        weights[0] = 0.5 * standard_normal(rng);
        double norm2 = 0;
        for (std::size_t j = 1; j <= features; ++j) {
            weights[j] = standard_normal(rng);
            norm2 += weights[j] * weights[j];
        }
        // sd(w . x) = |w| sd(x_j): sd 1/sqrt(3) for uniform [-1, 1], 1 for N(0, 1).
        const double feature_sd =
            distribution == FeatureDistribution::uniform ? 1 / std::sqrt(3.0) : 1.0;
        const double factor = norm2 > 0 ? signal / (std::sqrt(norm2) * feature_sd) : 0;
        for (std::size_t j = 1; j <= features; ++j) {
            weights[j] *= factor;
        }
    }
    std::vector<double> values(rows * features);
    std::vector<double> labels(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        double t = weights[0];
        for (std::size_t j = 0; j < features; ++j) {
            const double v = distribution == FeatureDistribution::uniform ? uniform_symmetric(rng)
                                                                          : standard_normal(rng);
            values[i * features + j] = v;
            t += weights[j + 1] * v;
        }
        if (logistic) {
            const double p = t >= 0 ? 1 / (1 + std::exp(-t)) : std::exp(t) / (1 + std::exp(t));
            labels[i] = uniform01(rng) < p ? 1 : 0;
        } else {
            labels[i] = t + noise * standard_normal(rng);
        }
    }
    return {Dataset(rows, features, std::move(values), std::move(labels),
                    logistic ? Task::classification : Task::regression),
            std::move(weights)};
}

}  // namespace detail

/// A seeded classification dataset from a known logistic model: features
/// uniform in [-1, 1] (or standard normal), label 1 with probability
/// sigmoid(b + w . x) (a Bernoulli draw). Defaults: the iDASH 2017 shape
/// (1579 x 18) used by the README demo.
/// @throws InvalidArgumentError for zero rows or features, a negative or
///         non-finite signal, or .noise (linear only).
/// @throws ShapeError for .weights of a size other than features + 1.
[[nodiscard]] inline SyntheticDataset synthetic_logistic(std::size_t rows = idash_rows,
                                                         std::size_t features = idash_features,
                                                         std::uint64_t seed = 1,
                                                         const SyntheticOptions& options = {}) {
    return detail::synthetic("ml::synthetic_logistic", true, rows, features, seed, options);
}

/// A seeded regression dataset from a known linear model: y = b + w . x + e,
/// e ~ N(0, noise^2), features as in synthetic_logistic.
/// @throws as synthetic_logistic (.noise must be finite and non-negative).
[[nodiscard]] inline SyntheticDataset synthetic_linear(std::size_t rows = idash_rows,
                                                       std::size_t features = idash_features,
                                                       std::uint64_t seed = 1,
                                                       const SyntheticOptions& options = {}) {
    return detail::synthetic("ml::synthetic_linear", false, rows, features, seed, options);
}

inline constexpr double default_circles_factor = 0.5;
inline constexpr double default_circles_noise = 0.05;

/// Options of synthetic_circles.
struct CirclesOptions {
    /// Radius of the inner circle, relative to the outer one (radius 1); default 0.5.
    std::optional<double> factor = std::nullopt;
    /// Standard deviation of the Gaussian noise added to each coordinate; default 0.05.
    std::optional<double> noise = std::nullopt;
};

/// Two concentric circles in the plane (2 features): even samples on the outer
/// circle (radius 1, label 0), odd samples on the inner one (label 1), at
/// uniformly random angles, plus Gaussian noise. No line separates them: the
/// test case for a small neural network (a linear model stays near 50%).
/// @throws InvalidArgumentError for points < 2, factor outside (0, 1), or a
///         negative or non-finite noise.
[[nodiscard]] inline Dataset synthetic_circles(std::size_t points, std::uint64_t seed,
                                               const CirclesOptions& options = {}) {
    constexpr const char* function = "ml::synthetic_circles";
    const double factor = options.factor.value_or(default_circles_factor);
    const double noise = options.noise.value_or(default_circles_noise);
    if (points < 2) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": ", points, " points; pass at least 2 (one per circle)"));
    }
    if (!(factor > 0 && factor < 1)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": factor = ", factor,
            " is outside (0, 1); the inner radius is a fraction of the outer one"));
    }
    if (!(noise >= 0) || !std::isfinite(noise)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": noise = ", noise, " must be a finite, non-negative standard deviation"));
    }
    std::mt19937_64 rng(seed);
    std::vector<double> values(2 * points);
    std::vector<double> labels(points);
    for (std::size_t i = 0; i < points; ++i) {
        const bool inner = i % 2 == 1;
        const double radius = inner ? factor : 1.0;
        const double angle = 2 * std::numbers::pi * detail::uniform01(rng);
        values[2 * i] = radius * std::cos(angle) + noise * detail::standard_normal(rng);
        values[2 * i + 1] = radius * std::sin(angle) + noise * detail::standard_normal(rng);
        labels[i] = inner ? 1 : 0;
    }
    return Dataset(points, 2, std::move(values), std::move(labels), Task::classification,
                   {"x", "y"}, "inner");
}

}  // namespace cloak::inline v0::ml

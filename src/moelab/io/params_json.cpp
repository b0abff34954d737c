#include "moelab/io/params_json.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "moelab/io/detail/json_read.hpp"
#include "moelab/io/text_snippet.hpp"
#include "moelab/model/gates/gate.hpp"

namespace moelab {
namespace {

using nlohmann::json;

json VectorToJson(const Vector& v) { return json(std::vector<double>(v.data(), v.data() + v.size())); }

json MatrixToJson(const Matrix& m) {
  json rows = json::array();
  for (Index r = 0; r < m.rows(); ++r) {
    rows.push_back(VectorToJson(m.row(r).transpose()));
  }
  return rows;
}

// The keys each object may hold. Anything else is refused (with a
// suggestion): a misspelt optional key such as "temprature" would otherwise
// silently leave the default in place.
const std::vector<std::string> kRootKeys = {"gate", "experts"};
const std::vector<std::string> kGateKeys = {"kind",  "bias",    "slope",     "temperature",
                                            "top_k", "ranking", "activation"};
const std::vector<std::string> kExpertKeys = {"intercept", "slope", "variance"};

void CheckKeys(const json& object, const std::vector<std::string>& allowed, const std::string& where) {
  if (!object.is_object()) return;  // Field() names the type error
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string valid;
    for (const auto& k : allowed) valid += (valid.empty() ? "" : ", ") + k;
    throw std::invalid_argument("unknown field '" + where + Printable(key, 60) + "'" +
                                DidYouMean(key, allowed) + "; valid fields: " + valid);
  }
}

const json& Field(const json& object, const std::string& key, const std::string& where) {
  if (!object.is_object() || !object.contains(key)) {
    throw std::invalid_argument("missing field '" + where + key + "'");
  }
  return object.at(key);
}

// Typed scalar fields: a wrong JSON type names the field (nlohmann's own
// type_error does not say which field it was).
std::string StringField(const json& object, const std::string& key, const std::string& where) {
  const json& j = Field(object, key, where);
  if (!j.is_string()) throw std::invalid_argument("field '" + where + key + "' must be a string");
  return j.get<std::string>();
}

double NumberField(const json& object, const std::string& key, const std::string& where) {
  const json& j = Field(object, key, where);
  if (!j.is_number()) throw std::invalid_argument("field '" + where + key + "' must be a number");
  return j.get<double>();
}

int IntegerField(const json& object, const std::string& key, const std::string& where) {
  const json& j = Field(object, key, where);
  if (!j.is_number_integer() || j.get<long long>() < std::numeric_limits<int>::min() ||
      j.get<long long>() > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("field '" + where + key + "' must be an integer");
  }
  return j.get<int>();
}

Vector JsonToVector(const json& j, const std::string& where) {
  if (!j.is_array()) throw std::invalid_argument("field '" + where + "' must be an array");
  Vector v(static_cast<Index>(j.size()));
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number()) {
      throw std::invalid_argument("field '" + where + "[" + std::to_string(i) +
                                  "]' must be a number");
    }
    v[static_cast<Index>(i)] = j[i].get<double>();
  }
  return v;
}

Matrix JsonToMatrix(const json& j, const std::string& where) {
  if (!j.is_array()) throw std::invalid_argument("field '" + where + "' must be an array of rows");
  if (j.empty()) return Matrix(0, 0);
  const Index rows = static_cast<Index>(j.size());
  Matrix m;
  for (Index r = 0; r < rows; ++r) {
    const std::string row_name = where + "[" + std::to_string(r) + "]";
    // A bare number is accepted as a one-element row (d = 1 shorthand).
    const Vector row = j[r].is_number() ? Vector::Constant(1, j[r].get<double>())
                                        : JsonToVector(j[r], row_name);
    if (r == 0) m.resize(rows, row.size());
    if (row.size() != m.cols()) {
      throw std::invalid_argument("field '" + row_name + "' has " + std::to_string(row.size()) +
                                  " entries, expected " + std::to_string(m.cols()));
    }
    m.row(r) = row.transpose();
  }
  return m;
}

}  // namespace

std::string ParamsToJson(const MoeParams& params) {
  json gate = {{"kind", ToString(params.gate.kind)},
               {"bias", VectorToJson(params.gate.bias)},
               {"slope", MatrixToJson(params.gate.slope)}};
  // The fields the gate reads (gates/gate.hpp), no others.
  const GateFields fields = GateOf(params.gate).fields();
  if (fields.temperature) gate["temperature"] = params.gate.temperature;
  if (fields.top_k != GateFields::TopK::kUnused) gate["top_k"] = params.gate.top_k;
  if (fields.ranking) gate["ranking"] = ToString(params.gate.ranking);
  if (fields.activation) gate["activation"] = ToString(params.gate.activation);
  json experts = {{"intercept", VectorToJson(params.experts.intercept)},
                  {"slope", MatrixToJson(params.experts.slope)},
                  {"variance", VectorToJson(params.experts.variance)}};
  json root = {{"gate", gate}, {"experts", experts}};
  return root.dump(2) + "\n";
}

MoeParams ParamsFromJson(const std::string& text, const std::string& source) {
  const json root = detail::ParseJsonStrict(text, source);  // names `source` itself
  try {
    if (!root.is_object()) throw std::invalid_argument("the parameter file must be a JSON object");
    CheckKeys(root, kRootKeys, "");
    const json& gate = Field(root, "gate", "");
    const json& experts = Field(root, "experts", "");
    if (!gate.is_object()) throw std::invalid_argument("field 'gate' must be an object");
    if (!experts.is_object()) throw std::invalid_argument("field 'experts' must be an object");
    CheckKeys(gate, kGateKeys, "gate.");
    CheckKeys(experts, kExpertKeys, "experts.");
    MoeParams params;
    params.gate.kind = ParseGateKind(StringField(gate, "kind", "gate."));
    params.gate.bias = JsonToVector(Field(gate, "bias", "gate."), "gate.bias");
    params.gate.slope = JsonToMatrix(Field(gate, "slope", "gate."), "gate.slope");
    if (gate.contains("temperature")) params.gate.temperature = NumberField(gate, "temperature", "gate.");
    if (gate.contains("top_k")) params.gate.top_k = IntegerField(gate, "top_k", "gate.");
    if (gate.contains("ranking")) params.gate.ranking = ParseTopKRanking(StringField(gate, "ranking", "gate."));
    if (gate.contains("activation")) params.gate.activation = ParseActivation(StringField(gate, "activation", "gate."));
    params.experts.intercept = JsonToVector(Field(experts, "intercept", "experts."), "experts.intercept");
    params.experts.slope = JsonToMatrix(Field(experts, "slope", "experts."), "experts.slope");
    params.experts.variance = JsonToVector(Field(experts, "variance", "experts."), "experts.variance");
    // A subnormal variance passes "> 0" but 1/variance overflows, so every
    // density evaluation would be infinite or NaN.
    for (Index i = 0; i < params.experts.variance.size(); ++i) {
      const double v = params.experts.variance[i];
      if (v > 0.0 && v < std::numeric_limits<double>::min()) {
        std::ostringstream os;
        os << "field 'experts.variance[" << i << "]' = " << v
           << " is below the smallest normal double (2.2e-308); 1/variance would overflow";
        throw std::invalid_argument(os.str());
      }
    }
    params.Validate();
    return params;
  } catch (const json::exception& e) {
    throw std::invalid_argument(source + ": invalid parameter JSON: " + Printable(e.what(), 240));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(source + ": " + e.what());
  }
}

void WriteParamsJson(const MoeParams& params, const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot open '" + path + "' for writing");
  out << ParamsToJson(params);
  if (!out) throw std::runtime_error("failed writing '" + path + "'");
}

MoeParams ReadParamsJson(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::invalid_argument("parameter file '" + path + "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot open parameter file '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParamsFromJson(buffer.str(), path);
}

}  // namespace moelab

#include "clients/lib/frame_json.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/lib/json_text.h"
#include "flatbuffers/idl.h"
#include "flatbuffers/reflection.h"
#include "schema_text.h"

namespace perfwire {

// The schema in reflection form (a .bfbs built from the embedded text).
struct FrameJson::Schema {
  std::vector<uint8_t> bfbs;
  const reflection::Schema* schema() const {
    return reflection::GetSchema(bfbs.data());
  }
};

namespace {

using reflection::BaseType;

// A float widened to double prints its binary expansion (0.1f as
// 0.10000000149011612); print the shortest decimal that reads back as the
// same float instead.
double FloatAsShortestDouble(float value) {
  char text[64];
  const auto result = std::to_chars(text, text + sizeof(text) - 1, value);
  *result.ptr = '\0';
  return std::strtod(text, nullptr);
}

Json EnumOrNumber(const reflection::Schema& schema,
                  const reflection::Type& type, int64_t value) {
  if (type.index() >= 0 && schema.enums() != nullptr &&
      static_cast<flatbuffers::uoffset_t>(type.index()) <
          schema.enums()->size()) {
    const reflection::Enum* e = schema.enums()->Get(type.index());
    if (e->values() != nullptr) {
      if (const reflection::EnumVal* v = e->values()->LookupByKey(value);
          v != nullptr && v->name() != nullptr) {
        return v->name()->str();
      }
    }
  }
  return value;
}

// The scalar of base type `t` stored at `p`.
Json Scalar(const reflection::Schema& schema, const reflection::Type& type,
            BaseType t, const uint8_t* p) {
  using flatbuffers::ReadScalar;
  switch (t) {
    case BaseType::Bool:
      return ReadScalar<uint8_t>(p) != 0;
    case BaseType::Byte:
      return EnumOrNumber(schema, type, ReadScalar<int8_t>(p));
    case BaseType::UType:
    case BaseType::UByte:
      return EnumOrNumber(schema, type, ReadScalar<uint8_t>(p));
    case BaseType::Short:
      return EnumOrNumber(schema, type, ReadScalar<int16_t>(p));
    case BaseType::UShort:
      return EnumOrNumber(schema, type, ReadScalar<uint16_t>(p));
    case BaseType::Int:
      return EnumOrNumber(schema, type, ReadScalar<int32_t>(p));
    case BaseType::UInt:
      return EnumOrNumber(schema, type, ReadScalar<uint32_t>(p));
    case BaseType::Long:
      return EnumOrNumber(schema, type, ReadScalar<int64_t>(p));
    case BaseType::ULong:
      return ReadScalar<uint64_t>(p);  // exact above 2^63 too
    case BaseType::Float:
      return FloatAsShortestDouble(ReadScalar<float>(p));
    case BaseType::Double:
      return ReadScalar<double>(p);
    default:
      return nullptr;
  }
}

// A scalar field's default when the table leaves it out.
Json DefaultScalar(const reflection::Schema& schema,
                   const reflection::Field& field) {
  const reflection::Type& type = *field.type();
  const BaseType t = type.base_type();
  if (t == BaseType::Bool) return field.default_integer() != 0;
  if (flatbuffers::IsFloat(t)) {
    return t == BaseType::Float
               ? FloatAsShortestDouble(static_cast<float>(field.default_real()))
               : field.default_real();
  }
  if (t == BaseType::ULong) {
    return static_cast<uint64_t>(field.default_integer());
  }
  return EnumOrNumber(schema, type, field.default_integer());
}

// Fields in schema (id) order; reflection keeps them sorted by name.
std::vector<const reflection::Field*> FieldsInOrder(
    const reflection::Object& object) {
  std::vector<const reflection::Field*> fields;
  if (object.fields() == nullptr) return fields;
  for (const reflection::Field* f : *object.fields()) {
    if (!f->deprecated()) fields.push_back(f);
  }
  std::sort(fields.begin(), fields.end(),
            [](const reflection::Field* a, const reflection::Field* b) {
              return a->id() < b->id();
            });
  return fields;
}

Json TableJson(const reflection::Schema& schema,
               const reflection::Object& object, const flatbuffers::Table& t);

Json StructJson(const reflection::Schema& schema,
                const reflection::Object& object, const uint8_t* data) {
  Json out = Json::object();
  for (const reflection::Field* field : FieldsInOrder(object)) {
    const reflection::Type& type = *field->type();
    const uint8_t* p = data + field->offset();
    const std::string name = field->name()->str();
    if (type.base_type() == BaseType::Obj) {
      out[name] = StructJson(schema, *schema.objects()->Get(type.index()), p);
    } else if (type.base_type() == BaseType::Array) {
      Json items = Json::array();
      const BaseType element = type.element();
      const size_t size =
          element == BaseType::Obj
              ? static_cast<size_t>(
                    schema.objects()->Get(type.index())->bytesize())
              : flatbuffers::GetTypeSize(element);
      for (size_t i = 0; i < type.fixed_length(); ++i) {
        items.push_back(element == BaseType::Obj
                            ? StructJson(schema,
                                         *schema.objects()->Get(type.index()),
                                         p + i * size)
                            : Scalar(schema, type, element, p + i * size));
      }
      out[name] = std::move(items);
    } else {
      out[name] = Scalar(schema, type, type.base_type(), p);
    }
  }
  return out;
}

Json VectorJson(const reflection::Schema& schema, const reflection::Type& type,
                const flatbuffers::Table& table, const reflection::Field& f) {
  Json items = Json::array();
  const BaseType element = type.element();
  if (element == BaseType::String) {
    const auto* v = table.GetPointer<
        const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*>(
        f.offset());
    for (const flatbuffers::String* s : *v) items.push_back(s->str());
    return items;
  }
  if (element == BaseType::Obj) {
    const reflection::Object& object = *schema.objects()->Get(type.index());
    if (object.is_struct()) {
      const auto* v =
          table.GetPointer<const flatbuffers::Vector<uint8_t>*>(f.offset());
      for (size_t i = 0; i < v->size(); ++i) {
        items.push_back(
            StructJson(schema, object, v->Data() + i * object.bytesize()));
      }
    } else {
      const auto* v = table.GetPointer<
          const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>*>(
          f.offset());
      for (const flatbuffers::Table* t : *v) {
        items.push_back(TableJson(schema, object, *t));
      }
    }
    return items;
  }
  if (flatbuffers::IsScalar(element)) {
    const auto* v =
        table.GetPointer<const flatbuffers::Vector<uint8_t>*>(f.offset());
    const size_t size = flatbuffers::GetTypeSize(element);
    for (size_t i = 0; i < v->size(); ++i) {
      items.push_back(Scalar(schema, type, element, v->Data() + i * size));
    }
  }
  return items;  // vectors of unions: not in the schema
}

Json TableJson(const reflection::Schema& schema,
               const reflection::Object& object, const flatbuffers::Table& t) {
  Json out = Json::object();
  for (const reflection::Field* field : FieldsInOrder(object)) {
    const reflection::Type& type = *field->type();
    const BaseType base = type.base_type();
    const std::string name = field->name()->str();
    const bool present = t.GetOptionalFieldOffset(field->offset()) != 0;
    if (flatbuffers::IsScalar(base)) {
      if (present) {
        out[name] = Scalar(schema, type, base, t.GetAddressOf(field->offset()));
      } else if (!field->optional()) {
        out[name] = DefaultScalar(schema, *field);
      }
      continue;
    }
    if (!present) continue;  // an absent section stays absent
    switch (base) {
      case BaseType::String:
        out[name] =
            t.GetPointer<const flatbuffers::String*>(field->offset())->str();
        break;
      case BaseType::Vector:
        out[name] = VectorJson(schema, type, t, *field);
        break;
      case BaseType::Obj: {
        const reflection::Object& child = *schema.objects()->Get(type.index());
        if (child.is_struct()) {
          out[name] = StructJson(schema, child,
                                 t.GetStruct<const uint8_t*>(field->offset()));
        } else {
          out[name] = TableJson(
              schema, child,
              *t.GetPointer<const flatbuffers::Table*>(field->offset()));
        }
        break;
      }
      default:
        break;  // unions: not in the schema
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<FrameJson> FrameJson::Create() {
  flatbuffers::Parser parser;
  if (!parser.Parse(kSchemaText)) {
    return absl::InternalError(
        absl::StrCat("embedded schema does not parse: ", parser.error_));
  }
  parser.Serialize();
  auto schema = std::make_unique<Schema>();
  const uint8_t* bfbs = parser.builder_.GetBufferPointer();
  schema->bfbs.assign(bfbs, bfbs + parser.builder_.GetSize());
  if (schema->schema()->root_table() == nullptr) {
    return absl::InternalError("embedded schema has no root_type");
  }
  return FrameJson(std::move(schema));
}

FrameJson::FrameJson(std::unique_ptr<Schema> schema)
    : schema_(std::move(schema)) {}
FrameJson::FrameJson(FrameJson&&) noexcept = default;
FrameJson& FrameJson::operator=(FrameJson&&) noexcept = default;
FrameJson::~FrameJson() = default;

absl::StatusOr<std::string> FrameJson::ToJson(
    const uint8_t* frame_without_prefix) const {
  const reflection::Schema& schema = *schema_->schema();
  const Json json = TableJson(schema, *schema.root_table(),
                              *flatbuffers::GetAnyRoot(frame_without_prefix));
  return JsonText(json);
}

}  // namespace perfwire

"""The jobs API: one module per resource, each with its serializers and views; ``common`` holds what they share."""

// The adversarial family: importing this module registers its models (see ../../core/model.ts).
export {};

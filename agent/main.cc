int main() { return 1; }  // placeholder until the agent lands
